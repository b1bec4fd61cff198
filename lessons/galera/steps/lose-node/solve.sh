#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
vagrant halt mariadb-02 >&2
for i in $(seq 40); do [ "$(wsrep mariadb-01 cluster_size)" = 2 ] && break; sleep 0.25; done
query mariadb-01 "REPLACE INTO workshop.attendees VALUES (2, 'written while mariadb-02 was down')"
