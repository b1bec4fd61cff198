#!/bin/bash
# Evidence: something answers HTTP on port 8000 and serves the file from step 1.
body=$(curl -s --max-time 3 http://127.0.0.1:8000/hello.txt)
status=$?
if [ $status -eq 28 ]; then
  echo "Something holds port 8000 but does not answer: is the job stopped? Run 'bg' to let it run."
  exit 1
elif [ $status -ne 0 ]; then
  echo "Nothing answers on http://localhost:8000 yet. Start the server (and put it in the background)."
  exit 1
fi
if [ "$body" != 'Hello, Opslab!' ]; then
  echo "A server answers on port 8000 but /hello.txt is not your file: start it from your home directory (cd ~)."
  exit 1
fi
echo "A web server on port 8000 serves your hello.txt."
