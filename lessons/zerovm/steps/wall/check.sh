#!/bin/bash
# Two runs of misbehave.nexe killed by the runtime: one at a file open, one at a socket.
PYTHONPATH=/opt/opslab/lesson/lib python3 - <<'PY'
import zvm_journal, sys
killed = {r["call"]: r for r in zvm_journal.runs("misbehave.nexe") if r["state"] == "killed"}
opened = next((r for call, r in killed.items() if call in ("open", "openat", "openat2")), None)
if opened is None:
    sys.exit("No run of misbehave.nexe was stopped at a file open yet: echo file | zerovm misbehave.manifest")
if "socket" not in killed:
    sys.exit("Now let it try the network: echo socket | zerovm misbehave.manifest")
print(f"Right: killed at {opened['call']}({opened['detail']}) and at socket({killed['socket']['detail']}). "
      "Nothing outside the manifest's channels exists for the program.")
PY
