#!/bin/bash
# Both halves of a partition, from the nodes' own logs and data: mariadb-03 cut off went
# non-Primary, mariadb-01 and -02 carried on as a Primary component of 2 and took a write, and
# mariadb-03 resynced once its link was back.
. /opt/opslab/lesson/lib/checks.sh
log() { vagrant ssh "$1" -c "cat /var/log/mysql/error.log" 2>/dev/null; }
running mariadb-03 || fail "mariadb-03 is not running: \`vagrant up mariadb-03\` in the host tab, then cut its link (not its power)."
log mariadb-03 | grep -q -e 'Received NON-PRIMARY' -e 'New COMPONENT: primary = no' \
  || fail "mariadb-03 has never been non-Primary. Cut its link: vagrant ssh mariadb-03 -c 'ip link set eth0 down' — then watch wsrep_cluster_status on it."
log mariadb-01 | grep -q 'forgetting .*(tcp://192.168.56.13:' \
  || fail "mariadb-01 never dropped mariadb-03 from the cluster: the link must stay down for several seconds (Galera suspects a silent node after 5 s)."
row=$(query mariadb-01 "SELECT token FROM workshop.attendees WHERE id = 3")
status3=$(wsrep mariadb-03 cluster_status)
if [ "$status3" != Primary ]; then
  [ -n "$row" ] || fail "mariadb-03 is cut off ($status3): that is one half. Now the other: write on mariadb-01, which still has a majority — INSERT INTO workshop.attendees VALUES (3, 'written while mariadb-03 was cut off');"
  fail "mariadb-03 is still cut off ($status3), and the majority took your write. Restore its link: vagrant ssh mariadb-03 -c 'ip link set eth0 up'"
fi
[ -n "$row" ] || fail "mariadb-03 is back, but nothing was written while it was cut off. Cut it off again, INSERT row 3 on mariadb-01 meanwhile, then restore the link."
require_cluster
[ "$(query mariadb-03 "SELECT token FROM workshop.attendees WHERE id = 3")" = "$row" ] || fail "mariadb-03 rejoined but does not have row 3 ('$row') yet: check again in a few seconds."
echo "Both halves: cut off, mariadb-03 went non-Primary and refused queries, while mariadb-01 and -02 (2 of 3) stayed Primary and took '$row'; back on the network, mariadb-03 caught up by IST. A minority never diverges — it stops."
