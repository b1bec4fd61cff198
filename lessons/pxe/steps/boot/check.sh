#!/bin/bash
# Boots a real (emulated) PC from the attendee's server, headless, and waits for the attendee's
# own menu title on its console: SeaBIOS → iPXE → DHCP → TFTP pxelinux.0 → the menu.
. /opt/opslab/lesson/lib/checks.sh
require_dnsmasq
# Your PC (pxe-client's MAC) took a lease and fetched pxelinux.0: dnsmasq's log says so.
ip=$(sed -n 's/.*DHCPACK(eth0) \([0-9.]*\) 52:54:00:0a:00:42.*/\1/p' /var/log/dnsmasq.log | tail -n 1)
[ -n "$ip" ] || fail "Your PC has not booted from the network yet: run pxe-client in the client console tab."
grep -q "sent /tftpboot/pxelinux.0 to $ip\$" /var/log/dnsmasq.log || fail "Your PC took the lease $ip but never fetched pxelinux.0: run pxe-client again and read what iPXE says."
lan_client
take_lease
title=$(read_menu --title) \
  || fail "Your menu has no MENU TITLE for the check to look for on the client's screen (step 4)."
ip netns del "$client"
out=$(PXE_CLIENT_MAC=52:54:00:0a:00:43 pxe-client --until "$title" 2>&1) || fail "The check's PC did not show your menu \"$title\": $out"
echo "Your PC booted from your server (lease $ip, then pxelinux.0 by TFTP). The check's own PC showed your menu \"$title\" $(grep -o '[0-9]* ms after power-on' <<<"$out")."
