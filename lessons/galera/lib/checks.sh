# Shared by the steps' check.sh and solve.sh: the real state of the lab's nodes, through `vagrant`.
NODES=(mariadb-01 mariadb-02 mariadb-03)
fail() { echo "$*"; exit 1; }
running() { vagrant status | grep -q "^$1 *running"; }
# A query's result on a node (empty when it fails).
query() { vagrant ssh "$1" -c "mariadb -uroot -N -B -e \"$2\"" 2>/dev/null; }
# A wsrep status variable of a node, e.g. `wsrep mariadb-02 cluster_size`.
wsrep() { query "$1" "SHOW STATUS LIKE 'wsrep_$2'" | cut -f2; }
# For solve.sh: waits up to $4 seconds until a node's wsrep variable has a value, e.g. `await_wsrep mariadb-01 cluster_size 2 10`.
await_wsrep() { local i; for i in $(seq $(($4 * 4))); do [ "$(wsrep "$1" "$2")" = "$3" ] && return 0; sleep 0.25; done; return 1; }
token() { cat /root/token; }
# All three running and Synced, in one Primary component of 3; says what is missing otherwise.
require_cluster() {
  local n state
  for n in "${NODES[@]}"; do
    running "$n" || fail "$n is not running. In the host tab: \`vagrant up\` (\`vagrant status\` shows each node's state)."
    state=$(wsrep "$n" local_state_comment)
    [ "$state" = Synced ] || fail "$n runs but is not Synced (wsrep_local_state_comment: ${state:-no answer}). Give it a few seconds, or look at its log: vagrant ssh $n -c 'tail /var/log/mysql/error.log'."
  done
  [ "$(wsrep mariadb-01 cluster_size)" = 3 ] || fail "The nodes are Synced but not in one cluster of 3 (wsrep_cluster_size on mariadb-01: $(wsrep mariadb-01 cluster_size))."
}
