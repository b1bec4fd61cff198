#!/bin/sh
# udhcpc's event script for the checks: print the lease's fields instead of configuring anything.
[ "$1" = bound ] || exit 0
for v in ip siaddr boot_file router serverid sname bootfile tftp; do
  eval "val=\${$v:-}"
  echo "LEASE $v='$val'"
done
