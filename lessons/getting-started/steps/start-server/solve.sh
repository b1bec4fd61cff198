#!/bin/bash
# As the lesson's Solution: in the background, its log in ~/http.log. Run from here, the job has no
# terminal at all (setsid: nor a session it could lose), which the check accepts as background.
cd /root || exit 1
# A server of the attendee's that is stopped or holds the terminal would keep port 8000: end it.
if pids=$(pgrep -f 'http\.server'); then
  kill $pids; kill -CONT $pids 2>/dev/null
  for _ in $(seq 30); do pgrep -f 'http\.server' >/dev/null || break; sleep 0.1; done
fi
setsid python3 -m http.server 8000 >/dev/null 2>>/root/http.log < /dev/null &
for _ in $(seq 50); do
  curl -s --max-time 1 -o /dev/null http://127.0.0.1:8000/ && exit 0
  sleep 0.1
done
echo "the server did not come up"; exit 1
