#!/bin/bash
cd /root || exit 1
setsid python3 -m http.server 8000 >/tmp/http-server.log 2>&1 < /dev/null &
for _ in $(seq 50); do
  curl -s --max-time 1 -o /dev/null http://127.0.0.1:8000/ && exit 0
  sleep 0.1
done
echo "the server did not come up"; exit 1
