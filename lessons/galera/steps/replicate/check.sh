#!/bin/bash
# The attendee's row, written on mariadb-01, must be on every node.
. /opt/opslab/lesson/lib/checks.sh
require_cluster
want=$(token)
[ -n "$(query mariadb-01 "SHOW DATABASES LIKE 'workshop'")" ] || fail "There is no database workshop yet. On mariadb-01: CREATE DATABASE workshop;"
[ -n "$(query mariadb-01 "SHOW TABLES IN workshop LIKE 'attendees'")" ] || fail "There is no table workshop.attendees yet. On mariadb-01: CREATE TABLE workshop.attendees (id INT PRIMARY KEY, token VARCHAR(64));"
for n in "${NODES[@]}"; do
  got=$(query "$n" "SELECT token FROM workshop.attendees WHERE id = 1")
  [ "$got" = "$want" ] || fail "On $n, row 1 of workshop.attendees has token '${got:-<no row>}', not your value $want (cat ~/token in the host tab). Insert it on mariadb-01: INSERT INTO workshop.attendees VALUES (1, '$want');"
done
echo "Row 1 ($want) is on all three nodes: Galera certified the transaction on every node before mariadb-01 said OK."
