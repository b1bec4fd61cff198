#!/bin/bash
# The answer is compared with what the real server sends now. Its state is read from /proc before
# the request (lib/server.sh): a stopped server is told to go on, not sent a request it answers late.
. /opt/opslab/lesson/lib/server.sh
answer=$(printf '%s' "${1:-}" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/^[Ss]erver:[[:space:]]*//')
listening || fail "The server from the previous step is not running: start it again first."
require_server
actual=$(curl -sI --max-time 3 http://127.0.0.1:$PORT/hello.txt | tr -d '\r' | sed -n 's/^[Ss]erver:[[:space:]]*//p')
if [ -z "$actual" ]; then echo "The server from the previous step is not answering: start it again first."; exit 1; fi
if [ -z "$answer" ]; then echo "Type the value of the Server header into the answer field."; exit 1; fi
if [ "$answer" != "$actual" ]; then
  echo "\"$answer\" is not what the server sends. Look at the line starting with 'Server:' in curl -i's output."
  exit 1
fi
echo "Right: the server calls itself $actual."
