#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
ip link show eth0 >/dev/null 2>&1 || fail "There is no eth0 any more: ip link add eth0 type bridge makes the LAN switch again."
ip -4 -o addr show dev eth0 | grep -q ' 10\.0\.0\.1/24 ' || fail "eth0 has no address 10.0.0.1/24 yet: ip addr add 10.0.0.1/24 dev eth0"
ip -o link show eth0 | grep -q '<[^>]*\bUP\b' || fail "eth0 has its address but is down: ip link set eth0 up"
wlan=$(ip -4 -o addr show dev wlan0 2>/dev/null | grep -o '192\.168\.1\.[0-9]*/24' | head -1)
[ -n "$wlan" ] || fail "wlan0 has no address on the home network 192.168.1.0/24 yet: ip addr add 192.168.1.10/24 dev wlan0"
[ "$wlan" != 192.168.1.1/24 ] || fail "192.168.1.1 is the home router's address; give wlan0 another one, e.g. 192.168.1.10/24."
ip -o link show wlan0 | grep -q '<[^>]*\bUP\b' || fail "wlan0 has its address but is down: ip link set wlan0 up"
ip route show default | grep -q 'via 192\.168\.1\.1 dev wlan0' || fail "No default route through the home router yet: ip route add default via 192.168.1.1"
ping -c 1 -W 2 192.168.1.1 >/dev/null 2>&1 || fail "The home router 192.168.1.1 does not answer a ping from wlan0."
echo "eth0 serves the lab LAN as 10.0.0.1/24; wlan0 is ${wlan%/24} on the home network, and the router 192.168.1.1 answers."
