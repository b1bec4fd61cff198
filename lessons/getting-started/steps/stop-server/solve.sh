#!/bin/bash
pkill -f 'http.server'
for _ in $(seq 30); do pgrep -f 'http.server' >/dev/null || exit 0; sleep 0.1; done
pkill -9 -f 'http.server'
