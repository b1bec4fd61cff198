#!/bin/bash
# mariadb-02 back, healed by IST (only the missed transactions), with the row written while it was away.
. /opt/opslab/lesson/lib/checks.sh
running mariadb-02 || fail "mariadb-02 is still down. In the host tab: vagrant up mariadb-02"
require_cluster
want=$(query mariadb-01 "SELECT token FROM workshop.attendees WHERE id = 2")
[ -n "$want" ] || fail "There is no row 2 on mariadb-01: the previous step writes it while mariadb-02 is down."
[ "$(query mariadb-02 "SELECT token FROM workshop.attendees WHERE id = 2")" = "$want" ] || fail "mariadb-02 does not have row 2 ('$want') yet."
vagrant ssh mariadb-02 -c "grep -q 'IST received' /var/log/mysql/error.log" \
  || fail "mariadb-02 has the row but its log shows no IST: did it rejoin with a full state transfer (SST)? Look: vagrant ssh mariadb-02 -c 'grep -i -e IST -e SST /var/log/mysql/error.log'"
echo "mariadb-02 rejoined with an incremental state transfer: it received only the transactions it missed (from a donor's gcache), including '$want'. Size 3 again."
