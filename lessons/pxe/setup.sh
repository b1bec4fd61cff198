#!/bin/bash
# The Raspberry Pi of the seed, as this sandbox: its hardware (two network interfaces, down and
# without addresses, as after a fresh install), a writable /etc, and the home router upstream.
set -euo pipefail
hostname pxe-server

# /etc: a private copy, so the seed's edits (/etc/dnsmasq.conf, /etc/sysctl.conf,
# /etc/iptables.conf) work as written. Not an overlay: the host's files belong to an owner that is
# unmapped in this sandbox, and overlayfs refuses to copy those up. Unreadable files (shadow, TLS
# keys) are not copied: they are not this sandbox's to read.
mkdir -p /run/etc
cp -RP --no-preserve=ownership /etc/. /run/etc/ 2>/dev/null || true
mount --bind /run/etc /etc
echo "127.0.1.1 pxe-server" >> /etc/hosts

# The upstream network (the seed's home Wi-Fi): a router at 192.168.1.1 in its own namespace. It
# knows nothing of the lab LAN 10.0.0.0/24, so a client reaches it only through this server's NAT.
ip netns add upstream
ip link add wlan0 type veth peer name eth0 netns upstream
nsenter --net=/run/netns/upstream sh -c 'ip addr add 192.168.1.1/24 dev eth0 && ip link set eth0 up && ip link set lo up'

# The lab LAN: eth0 is a bridge, so lab machines (client namespaces, the QEMU client's tap) plug
# into it as into a switch.
ip link add eth0 type bridge
ip link set lo up

mkdir -p /tftpboot /var/lib/misc /var/log
cat >> /root/.bashrc <<'RC'
PS1='\u@\h:\w\$ '
RC
