#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
vagrant halt mariadb-02 >&2
await_wsrep mariadb-01 cluster_size 2 10
query mariadb-01 "REPLACE INTO workshop.attendees VALUES (2, 'written while mariadb-02 was down')"
