#!/bin/bash
. /opt/opslab/lesson/lib/solve.sh
[ "$(status)" = SHELVED_OFFLOADED ] && nova unshelve test1
await_status ACTIVE
nova instance-action-list test1
