#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
vagrant ssh mariadb-03 -c "ip link set eth0 down"
for i in $(seq 120); do [ "$(wsrep mariadb-03 cluster_status)" = non-Primary ] && break; sleep 0.25; done
query mariadb-03 "INSERT INTO workshop.attendees VALUES (9, 'refused')" || echo "mariadb-03 refused the write, as it should" >&2
for i in $(seq 120); do [ "$(wsrep mariadb-01 cluster_size)" = 2 ] && break; sleep 0.25; done
query mariadb-01 "REPLACE INTO workshop.attendees VALUES (3, 'written while mariadb-03 was cut off')"
vagrant ssh mariadb-03 -c "ip link set eth0 up"
for i in $(seq 160); do [ "$(wsrep mariadb-03 local_state_comment)" = Synced ] && [ "$(wsrep mariadb-03 cluster_size)" = 3 ] && break; sleep 0.25; done
