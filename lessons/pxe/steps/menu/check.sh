#!/bin/bash
# Reads the menu from a fresh LAN client over TFTP, following pxelinux's config search order and
# every INCLUDE, and fetches the start of each file the menu references.
. /opt/opslab/lesson/lib/checks.sh
service dnsmasq status >/dev/null || fail "dnsmasq is not running: service dnsmasq restart"
lan_client
take_lease
in_client /usr/bin/python3 "$LIB/pxemenu.py" 10.0.0.1 "${CLIENT_MAC:-52:54:00:0a:00:99}" "$LEASE_ip"
