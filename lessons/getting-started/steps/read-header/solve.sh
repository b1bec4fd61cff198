#!/bin/bash
# Prints the answer, read from the real server.
curl -sI --max-time 3 http://127.0.0.1:8000/hello.txt | tr -d '\r' | sed -n 's/^[Ss]erver:[[:space:]]*//p'
