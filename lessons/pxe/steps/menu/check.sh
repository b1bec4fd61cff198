#!/bin/bash
# Reads the menu from a fresh LAN client over TFTP, following pxelinux's config search order and
# every INCLUDE, and fetches the start of each file the menu references.
. /opt/opslab/lesson/lib/checks.sh
require_dnsmasq
lan_client
take_lease
read_menu
