#!/bin/bash
# Proves NAT with traffic, not by reading rules: a LAN client pings the home router, which has no
# route back to 10.0.0.0/24, so the reply comes only if the server masquerades the client.
. /opt/opslab/lesson/lib/checks.sh
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "IP forwarding is off: echo 1 > /proc/sys/net/ipv4/ip_forward"
grep -Eq '^\s*net\.ipv4\.ip_forward\s*=\s*1' "$ETC/sysctl.conf" || fail "Forwarding is on now but would be off after a reboot: uncomment net.ipv4.ip_forward=1 in /etc/sysctl.conf"
masq_count() { iptables -t nat -L POSTROUTING -v -n -x 2>/dev/null | awk '$3 == "MASQUERADE" && $7 == "wlan0" { n += $1 } END { print n + 0 }'; }
iptables -t nat -S POSTROUTING 2>/dev/null | grep -q -- '-o wlan0 -j MASQUERADE' || fail "No MASQUERADE rule for traffic leaving through wlan0 in the nat table yet."
[ -s "$ETC/iptables.conf" ] || fail "The rules are not saved: iptables-save > /etc/iptables.conf"
grep -q -- '-o wlan0 -j MASQUERADE' "$ETC/iptables.conf" || fail "/etc/iptables.conf has no MASQUERADE rule for wlan0: save again after adding it."
iptables-restore --test < "$ETC/iptables.conf" 2>/dev/null || fail "iptables-restore cannot read /etc/iptables.conf: write it with iptables-save."
lan_client
in_client ip addr add 10.0.0.249/24 dev eth0
in_client ip route add default via 10.0.0.1
before=$(masq_count)
if ! in_client ping -c 2 -W 2 192.168.1.1 >/dev/null 2>&1; then
  if iptables -S FORWARD | grep -q -- '-P FORWARD DROP' && ! iptables -S FORWARD | grep -q -- '-i eth0 .*-j ACCEPT'; then
    fail "The FORWARD chain drops packets from the LAN: iptables --append FORWARD --in-interface eth0 -j ACCEPT"
  fi
  fail "A LAN client (10.0.0.249, gateway 10.0.0.1) cannot reach the home router 192.168.1.1. Is eth0 up with 10.0.0.1/24 (step 1)?"
fi
after=$(masq_count)
[ "$after" -gt "$before" ] || fail "The client reached 192.168.1.1, but not through your MASQUERADE rule (its counter did not move)."
echo "A LAN client (10.0.0.249) pinged the home router through NAT: MASQUERADE counted $((after - before)) new connection(s); forwarding is on and both are saved for the next boot."
