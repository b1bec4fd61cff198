#!/bin/bash
# wc.out must hold what wc.nexe computed under zerovm (the journal says so) and be right for this
# sandbox's own corpus (recomputed here).
cd /root/zerovm 2>/dev/null || { echo "There is no ~/zerovm any more: Reset lesson (top of the step list) brings it back."; exit 1; }
PYTHONPATH=/opt/opslab/lesson/lib python3 - <<'PY'
import zvm_journal, subprocess, sys
wc_runs = zvm_journal.runs("wc.nexe")
if not wc_runs:
    sys.exit("wc.nexe has not run under zerovm yet. Complete the two Channel lines in wc.manifest, then: zerovm wc.manifest")
last = wc_runs[-1]
if last["state"] != "ok":
    sys.exit(f"The last run of wc.nexe ended with '{last['state']}': {last['detail'] or last['call']}. Look at zerovm's message and fix wc.manifest.")
channels = {c["alias"]: c for c in last["channels"]}
if "/dev/stdin" not in channels or channels["/dev/stdin"]["get_size"] == 0:
    sys.exit("wc.nexe read nothing from /dev/stdin: map data/corpus.txt to /dev/stdin with gets and get_size above 0.")
if "/dev/stdout" not in channels or channels["/dev/stdout"]["put_size"] == 0:
    sys.exit("wc.nexe wrote nothing to /dev/stdout: map wc.out to /dev/stdout with puts and put_size above 0.")
expected = " ".join(subprocess.run(["wc", "-l", "-w", "-c"], stdin=open("data/corpus.txt"), capture_output=True, text=True).stdout.split())
try:
    got = " ".join(open("wc.out").read().split())
except FileNotFoundError:
    sys.exit("There is no /root/zerovm/wc.out: the /dev/stdout channel's uri should be wc.out.")
if got != expected:
    sys.exit(f"wc.out says '{got}', but data/corpus.txt has (lines words bytes) '{expected}'. Is /dev/stdin mapped to data/corpus.txt?")
print(f"Right: {expected} (lines words bytes). wc.nexe never opened a file: zerovm opened both channels before it started.")
PY
