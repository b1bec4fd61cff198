#!/bin/bash
# The state UUID the attendee read on mariadb-02, against every node's. An empty answer, an answer
# that is no UUID and a UUID the cluster does not report each get their own advice, none of which
# gives the value away.
. /opt/opslab/lesson/lib/checks.sh
raw=${1:-}
# As copied from the client's table or from SHOW STATUS: without blanks, bars and the variable's name.
answer=$(printf '%s' "$raw" | tr -d '[:space:]|' | sed 's/^wsrep_cluster_state_uuid//I' | tr 'A-F' 'a-f')
require_cluster
[ -n "$answer" ] \
  || fail "Type the value of wsrep_cluster_state_uuid into the answer field, then Check. In the mariadb-02 tab: SHOW STATUS LIKE 'wsrep_cluster_state_uuid'; and copy the Value column."
shown=$(printf '%s' "$raw" | tr -d '\n' | head -c 60)
[[ "$answer" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] \
  || fail "\"$shown\" is not what the cluster reports: wsrep_cluster_state_uuid is a UUID, 36 characters like 2f1b…-…-…-…-…. In the mariadb-02 tab: SHOW STATUS LIKE 'wsrep_cluster_state_uuid'; and copy the Value column."
for n in "${NODES[@]}"; do
  [ "$answer" = "$(wsrep "$n" cluster_state_uuid)" ] && continue
  # A node's own identity in the group is a UUID too: say so rather than only "not it".
  for m in "${NODES[@]}"; do
    [ "$answer" = "$(wsrep "$m" gcomm_uuid)" ] \
      && fail "$answer is $m's wsrep_gcomm_uuid: the node's own identity in the group. The answer is the cluster's wsrep_cluster_state_uuid, the same on every node."
  done
  fail "$answer is not the wsrep_cluster_state_uuid the cluster reports now. In the mariadb-02 tab: SHOW STATUS LIKE 'wsrep_cluster_state_uuid'; and copy the Value column (after vagrant destroy and up, the cluster has a new one)."
done
echo "Right: all three nodes share the state $answer — one history of transactions, so any node can serve reads and writes."
