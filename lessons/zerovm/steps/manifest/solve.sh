#!/bin/bash
set -e
cd /root/zerovm
sed -i '/^# /d' wc.manifest
cat >> wc.manifest <<'M'
Channel = data/corpus.txt, /dev/stdin, 0, 0, 1000, 1048576, 0, 0
Channel = wc.out, /dev/stdout, 0, 0, 0, 0, 10, 1024
M
zerovm wc.manifest
