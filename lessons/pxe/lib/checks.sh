# Helpers for the PXE lesson's checks: a fresh lab machine plugged into the LAN (a network
# namespace on the eth0 bridge), a DHCP lease taken by it, and files fetched by TFTP.
LIB=/opt/opslab/lesson/lib

fail() { echo "$*"; exit 1; }

# The attendee's /etc is this lab's writable copy in /run/etc (setup.sh binds it over /etc in the
# sandbox). A check runs with the platform's own /etc instead: what the attendee writes into theirs
# (ld.so.preload, /etc/alternatives) must not run inside the check. So checks read it here.
ETC=/run/etc

require_dnsmasq() { service dnsmasq status >/dev/null || fail "dnsmasq is not running: service dnsmasq restart (its errors are in /var/log/dnsmasq.log)"; }

# A new client on the LAN switch, removed when the check exits. Its MAC address is fixed, so
# that the menu step can name the per-MAC config file pxelinux looks for.
CLIENT_MAC=${CLIENT_MAC:-52:54:00:0a:00:99}
client=
lan_client() {
  client="check-$$"
  ip netns add "$client" || fail "Could not create a test client namespace."
  trap 'ip netns del "$client" 2>/dev/null; ip link del "c$$" 2>/dev/null' EXIT
  ip link add "c$$" type veth peer name eth0 netns "$client" || fail "Could not plug a test client into the LAN."
  ip link set "c$$" master eth0 2>/dev/null || fail "eth0 is not the LAN bridge any more: was it deleted? ip link add eth0 type bridge makes it again (then step 1 once more)."
  ip link set "c$$" up
  in_client ip link set lo up
  in_client ip link set eth0 address "$CLIENT_MAC" up
}
in_client() { nsenter --net="/run/netns/$client" "$@"; }

# Takes a DHCP lease in the client (busybox udhcpc) and sets LEASE_<var> from what the server
# offered: ip, siaddr (next server), boot_file, router, serverid.
take_lease() {
  local out
  out=$(in_client busybox udhcpc -i eth0 -n -q -f -t 4 -T 1 -A 1 -s "$LIB/udhcpc-env.sh" 2>&1) || {
    echo "A new client on the LAN got no DHCP offer from 10.0.0.1 within 8 s."
    echo "Is dnsmasq running (service dnsmasq status) and listening on eth0? The end of /var/log/dnsmasq.log:"
    tail -n 5 /var/log/dnsmasq.log 2>/dev/null
    exit 1
  }
  eval "$(printf '%s\n' "$out" | sed -n 's/^LEASE \([a-z_]*\)=\(.*\)$/LEASE_\1=\2/p')"
  in_client ip addr add "$LEASE_ip/24" dev eth0
}

# busybox tftp from the client: tftp_get FILE DEST
tftp_get() { in_client busybox tftp -g -r "$1" -l "$2" 10.0.0.1 2>&1; }

# The menu as pxelinux on the client would read it (lib/pxemenu.py; --title prints its title only).
read_menu() { in_client /usr/bin/python3 "$LIB/pxemenu.py" 10.0.0.1 "$CLIENT_MAC" "$LEASE_ip" "$@"; }
