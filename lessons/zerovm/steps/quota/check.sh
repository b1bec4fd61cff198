#!/bin/bash
# sort.nexe must have finished under a manifest that still runs sort.nexe, with sorted.txt right.
cd /root/zerovm 2>/dev/null || { echo "There is no ~/zerovm any more: Reset lesson (top of the step list) brings it back."; exit 1; }
PYTHONPATH=/opt/opslab/lesson/lib python3 - <<'PY'
import zvm_journal, subprocess, sys
sorts = zvm_journal.runs("sort.nexe")
if not sorts:
    sys.exit("sort.nexe has not run yet: zerovm sort.manifest")
last = sorts[-1]
if last["state"] != "ok":
    sys.exit(f"The last run ended with '{last['state']}': {last['detail']}. Raise the /dev/stdout channel's limits in sort.manifest (puts, put_size) so that the whole result fits, then run it again.")
expected = subprocess.run(["sort"], stdin=open("data/corpus.txt"), capture_output=True, env={"LC_ALL": "C"}).stdout
if open("sorted.txt", "rb").read() != expected:
    sys.exit("sorted.txt is not the sorted corpus. Is /dev/stdin still data/corpus.txt?")
out = next(c for c in last["channels"] if c["alias"] == "/dev/stdout")
print(f"Right: {out['puts']} writes, {out['put_size']} bytes, within puts = {out['limits'][2]}, put_size = {out['limits'][3]}. "
      "The program did not change: its limits are the manifest's business.")
PY
