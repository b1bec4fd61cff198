#!/bin/bash
# Evidence: the kernel's own table of listening sockets.
if ss -Hltn 'sport = :8000' | grep -q .; then
  echo "Something still listens on port 8000. Use fg then Ctrl+C, or kill %1."
  exit 1
fi
if pgrep -f 'http.server' >/dev/null; then
  echo "The server process is still there (suspended?). 'jobs' shows it; 'kill %1' ends it."
  exit 1
fi
echo "Port 8000 is free again: the server is stopped."
