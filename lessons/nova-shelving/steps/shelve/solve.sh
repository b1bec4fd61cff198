#!/bin/bash
. /opt/opslab/lesson/lib/solve.sh
# Idempotent (a re-created sandbox replays it): only an ACTIVE test1 is shelved.
[ "$(status)" = ACTIVE ] && nova shelve test1
await_status SHELVED_OFFLOADED
nova show test1 | grep -E ' (status|OS-EXT-STS:power_state|OS-EXT-STS:task_state) '
