#!/bin/bash
# The state UUID the attendee read on mariadb-02, against every node's.
. /opt/opslab/lesson/lib/checks.sh
answer=$(echo "${1:-}" | tr -d '[:space:]' | tr 'A-F' 'a-f')
require_cluster
[[ "$answer" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] \
  || fail "Type the value of wsrep_cluster_state_uuid (36 characters, like 2f1b…-…): on mariadb-02, SHOW STATUS LIKE 'wsrep_cluster_state_uuid';"
for n in "${NODES[@]}"; do
  uuid=$(wsrep "$n" cluster_state_uuid)
  [ "$answer" = "$uuid" ] || fail "$n's wsrep_cluster_state_uuid is $uuid, not $answer. Copy it from the mariadb-02 tab: SHOW STATUS LIKE 'wsrep_cluster_state_uuid';"
done
echo "Right: all three nodes share the state $answer — one history of transactions, so any node can serve reads and writes."
