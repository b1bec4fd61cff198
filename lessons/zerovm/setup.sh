#!/bin/bash
# The ZeroVM lab: the runtime's programs, a random text corpus (every sandbox gets its own, so
# answers cannot be copied), and manifests to start from.
set -euo pipefail
lab=/root/zerovm
mkdir -p "$lab/nexe" "$lab/data" /var/log/zerovm
for program in /opt/opslab/lesson/native/build/*.nexe; do ln -sf "$program" "$lab/nexe/"; done

python3 - "$lab/data" <<'PY'
import random, sys
rng = random.SystemRandom()
vocabulary = ("data compute channel manifest node job pipeline storage object swift trap jail "
              "sandbox cloud kernel process memory quota timeout stream reduce map sort count "
              "word zero virtual machine container isolation latency startup program binary").split()
weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
rng.shuffle(weights)
lines = [" ".join(rng.choices(vocabulary, weights)[0] if rng.random() > 0.05 else rng.choice(vocabulary).capitalize()
                  for _ in range(rng.randint(6, 14))) for _ in range(rng.randint(900, 1200))]
open(f"{sys.argv[1]}/corpus.txt", "w").write("\n".join(lines) + "\n")
third = len(lines) // 3
for part, chunk in enumerate((lines[:third], lines[third:2 * third], lines[2 * third:]), start=1):
    open(f"{sys.argv[1]}/part-{part}.txt", "w").write("\n".join(chunk) + "\n")
PY

cat > "$lab/hello.manifest" <<'M'
# The smallest manifest: a program, its limits, and the channels it may use.
Version = 20130611
Program = /root/zerovm/nexe/hello.nexe
Timeout = 1
Memory = 16777216, 0
Channel = /dev/stdout, /dev/stdout, 0, 0, 0, 0, 10, 4096
M

cat > "$lab/wc.manifest" <<'M'
Version = 20130611
Program = /root/zerovm/nexe/wc.nexe
Timeout = 2
Memory = 33554432, 0
# TODO: a Channel that maps data/corpus.txt to /dev/stdin (reads only),
# and a Channel that maps wc.out to /dev/stdout (writes only)
Channel = /dev/stderr, /dev/stderr, 0, 0, 0, 0, 100, 4096
M

cat > "$lab/misbehave.manifest" <<'M'
Version = 20130611
Program = /root/zerovm/nexe/misbehave.nexe
Timeout = 2
Memory = 16777216, 0
Channel = /dev/stdin, /dev/stdin, 0, 0, 10, 64, 0, 0
Channel = /dev/stdout, /dev/stdout, 0, 0, 0, 0, 100, 4096
Channel = /dev/stderr, /dev/stderr, 0, 0, 0, 0, 100, 4096
M

cat > "$lab/sort.manifest" <<'M'
Version = 20130611
Program = /root/zerovm/nexe/sort.nexe
Timeout = 2
Memory = 67108864, 0
Channel = data/corpus.txt, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = sorted.txt, /dev/stdout, 0, 0, 0, 0, 100, 4096
Channel = /dev/stderr, /dev/stderr, 0, 0, 0, 0, 100, 4096
M

cat > "$lab/job.json" <<'J'
[
  {
    "name": "map",
    "exec": { "path": "/root/zerovm/nexe/map.nexe" },
    "file_list": [ { "device": "stdin", "path": "/root/zerovm/data/part-*.txt" } ]
  },
  {
    "name": "reduce",
    "exec": { "path": "/root/zerovm/nexe/reduce.nexe" },
    "file_list": [ { "device": "stdout", "path": "/root/zerovm/counts.txt" } ]
  }
]
J

# Every terminal of this lesson starts in the lab.
echo 'cd /root/zerovm' >> /root/.bashrc
