#!/bin/bash
# mariadb-02 down, the other two still a Primary component of 2, and row 2 written meanwhile.
. /opt/opslab/lesson/lib/checks.sh
running mariadb-02 && fail "mariadb-02 still runs. In the host tab: vagrant halt mariadb-02"
for n in mariadb-01 mariadb-03; do
  running "$n" || fail "$n is down too: only mariadb-02 should be. \`vagrant up $n\` brings it back."
  [ "$(wsrep "$n" cluster_size)" = 2 ] || fail "$n still counts $(wsrep "$n" cluster_size) nodes; the cluster notices a lost node within seconds — check again."
  [ "$(wsrep "$n" cluster_status)" = Primary ] || fail "$n is not in the Primary component ($(wsrep "$n" cluster_status)): with 2 of 3 nodes the cluster keeps its quorum."
done
got=$(query mariadb-01 "SELECT token FROM workshop.attendees WHERE id = 2")
[ -n "$got" ] || fail "The cluster is down to 2 and Primary. Now write while mariadb-02 is away — on mariadb-01: INSERT INTO workshop.attendees VALUES (2, 'written while mariadb-02 was down');"
[ "$(query mariadb-03 "SELECT token FROM workshop.attendees WHERE id = 2")" = "$got" ] || fail "Row 2 is on mariadb-01 but not on mariadb-03."
echo "2 of 3 nodes are a majority: the cluster stayed Primary and took your write ('$got'). mariadb-02 has not seen it yet."
