#!/bin/bash
set -e
cd /root/zerovm
python3 - <<'PY'
import json
job = json.load(open("job.json"))
job[0]["count"] = 3
job[0]["connect"] = ["reduce"]
json.dump(job, open("job.json", "w"), indent=2)
PY
zerovm-job job.json
