#!/bin/bash
# Evidence: a process listens on port 8000, runs in the background of the attendee's shell (or
# with no terminal at all), and serves the file from step 1 over HTTP. Its state is read from /proc
# first: the request goes only to a server that runs and logs elsewhere (lib/server.sh says why).
. /opt/opslab/lesson/lib/server.sh
listening || fail "Nothing listens on port 8000 yet. Start the server (and put it in the background)."
require_server background
body=$(curl -s --max-time 3 http://127.0.0.1:$PORT/hello.txt)
status=$?
if [ $status -eq 28 ]; then
  fail "Something holds port 8000 but does not answer within 3 s."
elif [ $status -ne 0 ]; then
  fail "Something listens on port 8000 but does not answer HTTP (curl status $status): start python3 -m http.server 8000 there."
fi
if [ "$body" != 'Hello, Opslab!' ]; then
  fail "A server answers on port 8000 but /hello.txt is not your file: start it from your home directory (cd ~)."
fi
echo "A web server on port 8000 serves your hello.txt, in the background."
