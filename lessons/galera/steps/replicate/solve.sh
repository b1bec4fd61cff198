#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
vagrant ssh mariadb-01 -c "mariadb -uroot -e \"CREATE DATABASE IF NOT EXISTS workshop; CREATE TABLE IF NOT EXISTS workshop.attendees (id INT PRIMARY KEY, token VARCHAR(64)); REPLACE INTO workshop.attendees VALUES (1, '$(token)')\""
vagrant ssh mariadb-03 -c "mariadb -uroot -e 'SELECT * FROM workshop.attendees'" >&2
