#!/bin/bash
set -e
ip addr add 10.0.0.1/24 dev eth0 2>/dev/null || true
ip link set eth0 up
ip addr add 192.168.1.10/24 dev wlan0 2>/dev/null || true
ip link set wlan0 up
ip route replace default via 192.168.1.1 dev wlan0
