#!/bin/bash
# counts.txt must be the word counts of this sandbox's corpus, made by 3 mappers and 1 reducer.
cd /root/zerovm 2>/dev/null || { echo "There is no ~/zerovm any more: Reset lesson (top of the step list) brings it back."; exit 1; }
PYTHONPATH=/opt/opslab/lesson/lib python3 - <<'PY'
import zvm_journal, collections, re, sys
reduces = [r for r in zvm_journal.runs("reduce.nexe") if r["state"] == "ok"]
if not reduces:
    sys.exit("No reduce node has finished yet. Give the map node \"count\": 3 and \"connect\": [\"reduce\"] in job.json, then: zerovm-job job.json")
last = reduces[-1]
inputs = [c for c in last["channels"] if c["alias"].startswith("/dev/in/")]
if len(inputs) != 3:
    sys.exit(f"The reducer had {len(inputs)} input(s): it should hear from 3 mappers (\"count\": 3 on the map node).")
job = last["manifest"].rsplit("/", 1)[0]
mappers = [r for r in zvm_journal.runs("map.nexe") if r["manifest"].startswith(job + "/") and r["state"] == "ok"]
if len(mappers) != 3:
    sys.exit(f"{len(mappers)} mapper(s) of that job finished: all 3 must.")
counts = collections.Counter(w.lower() for w in re.findall(r"[A-Za-z]+", open("data/corpus.txt").read()))
expected = "".join(f"{w} {n}\n" for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
try:
    got = open("counts.txt").read()
except FileNotFoundError:
    sys.exit("There is no counts.txt: the reduce node's stdout should be /root/zerovm/counts.txt.")
if got != expected:
    sys.exit("counts.txt is not the word count of data/corpus.txt. Did each mapper get its own part (part-*.txt)?")
top = got.splitlines()[0]
print(f"Right: 3 mappers and a reducer, connected by pipes, counted {sum(counts.values())} words; the most frequent: {top}.")
PY
