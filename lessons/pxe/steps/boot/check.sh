#!/bin/bash
# Boots a real (emulated) PC from the attendee's server, headless, and waits for the attendee's
# own menu title on its console: SeaBIOS → iPXE → DHCP → TFTP pxelinux.0 → the menu. While the
# attendee's own PC still runs in the client tab, it holds this sandbox's one turn of the machine
# and the check cannot boot another: that PC's console (QEMU's log of it) is the evidence then.
. /opt/opslab/lesson/lib/checks.sh
require_dnsmasq
# pxe-client's QEMU, and the machine-turn that waits in the queue to start it (both name its tap).
qemu_runs() { pgrep -f '^qemu-system-x86_64 .*ifname=pxeclient0,' >/dev/null; }
turn_waits() { pgrep -f '/machine-turn qemu-system-x86_64 .*ifname=pxeclient0,' >/dev/null; }
qemu_runs && running=yes || running=
# A machine-turn whose QEMU has just been quit lingers a moment (it looks at its QEMU five times a
# second): give it that moment to end before reading it as a boot that waits in the queue.
for _ in $(seq 20); do
  [ -z "$running" ] && turn_waits || break
  sleep 0.1
  qemu_runs && running=yes
done
if [ -z "$running" ] && turn_waits; then
  fail "Your PC waits for its turn in the client tab (pxe-client says how many are ahead): let it boot to your menu and Check again, or stop it with Ctrl-C."
fi
# Your PC (pxe-client's MAC) took a lease and fetched pxelinux.0: dnsmasq's log says so.
ip=$(sed -n 's/.*DHCPACK(eth0) \([0-9.]*\) 52:54:00:0a:00:42.*/\1/p' /var/log/dnsmasq.log | tail -n 1)
fetched() { [ -n "$ip" ] && grep -q "sent /tftpboot/pxelinux.0 to $ip\$" /var/log/dnsmasq.log; }
if [ -z "$running" ]; then
  [ -n "$ip" ] || fail "Your PC has not booted from the network yet: run pxe-client in the client console tab."
  fetched || fail "Your PC took the lease $ip but never fetched pxelinux.0: run pxe-client again and read what iPXE says."
fi
lan_client
take_lease
title=$(read_menu --title) \
  || fail "Your menu has no MENU TITLE for the check to look for on the client's screen (step 4)."
ip netns del "$client"
if [ -n "$running" ]; then
  # Its console as text, without the terminal's escape sequences (as pxe-client --until reads it).
  if fetched && sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' /var/log/pxe-client.log | grep -qF -- "$title"; then
    echo "Your PC booted from your server (lease $ip, then pxelinux.0 by TFTP) and shows your menu \"$title\" in the client tab."
    exit 0
  fi
  fail "Your PC is still running in the client tab: quit it with Ctrl-A X, then Check again. (Its screen does not show your menu \"$title\": once it does, Check passes while it runs.)"
fi
out=$(PXE_CLIENT_MAC=52:54:00:0a:00:43 pxe-client --until "$title" 2>&1) || fail "The check's PC did not show your menu \"$title\": $out"
echo "Your PC booted from your server (lease $ip, then pxelinux.0 by TFTP). The check's own PC showed your menu \"$title\" $(grep -o '[0-9]* ms after power-on' <<<"$out")."
