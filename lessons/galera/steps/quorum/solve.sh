#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
vagrant ssh mariadb-03 -c "ip link set eth0 down"
await_wsrep mariadb-03 cluster_status non-Primary 30
query mariadb-03 "INSERT INTO workshop.attendees VALUES (9, 'refused')" || echo "mariadb-03 refused the write, as it should" >&2
await_wsrep mariadb-01 cluster_size 2 30
query mariadb-01 "REPLACE INTO workshop.attendees VALUES (3, 'written while mariadb-03 was cut off')"
vagrant ssh mariadb-03 -c "ip link set eth0 up"
# Synced and back in a cluster of 3, both at once, within 40 s.
for i in $(seq 160); do [ "$(wsrep mariadb-03 local_state_comment)" = Synced ] && [ "$(wsrep mariadb-03 cluster_size)" = 3 ] && break; sleep 0.25; done
