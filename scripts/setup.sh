#!/usr/bin/env bash
# Installs everything Opslab needs on a fresh Debian 12 machine (as root) and builds the site:
# system packages (bubblewrap for the sandboxes, chromium for the browser tests, the tools the
# lessons use, a C++ toolchain for node-pty and better-sqlite3), npm packages, the Astro build.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (the server gives every sandbox its own unprivileged uid)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

packages=(
  bubblewrap util-linux procps iproute2 psmisc   # sandboxes: bwrap, setpriv/nsenter, pkill, ip
  python3 curl nano                               # used by the lessons (nano: the editor attendees expect)
  chromium                                        # browser tests (Playwright drives Debian's chromium)
  make g++ python3                                # node-gyp builds node-pty and better-sqlite3 from source
  gcc libc6-dev libseccomp-dev                    # the spawner and sandbox-init (sandbox-server/native, static), lesson programs (lessons/*/native)
  mariadb-server mariadb-client galera-4 mariadb-backup socat   # the Galera lab: real servers, inside sandboxes only
  dnsmasq-base iptables iputils-ping busybox tftp-hpa pxelinux syslinux-common   # the PXE lab: DHCP+TFTP, NAT, ping, a DHCP client
  qemu-system-x86 ipxe-qemu debian-installer-12-netboot-amd64       # the PXE lab's booting client and installer
  rabbitmq-server uwsgi-core uwsgi-plugin-python3 python3-pymysql      # the OpenStack control plane (services/openstack):
  python3-keystone python3-placement python3-glance python3-neutron python3-nova   # Zed, from Debian's packages,
  python3-novaclient python3-openstackclient python3-glanceclient      # and the real CLIs
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Servers the lessons run (MariaDB) run inside sandboxes, never on the host: no package may start
  # its service here (policy-rc.d 101 = "not allowed"), whatever init system the machine has.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The OpenStack APIs' paste pipelines ship in nova-common, glance-common and neutron-common, whose
# maintainer scripts would set up services on this host: take only those files from the packages.
paste=/usr/local/share/opslab/openstack-paste
if [ ! -s "$paste/neutron-api-paste.ini" ]; then
  debs=$(mktemp -d) && chmod 0755 "$debs"
  (cd "$debs" && apt-get download -q nova-common glance-common neutron-common >/dev/null)
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$debs/x"; done
  mkdir -p "$paste"
  cp "$debs/x/usr/share/nova-common/api-paste.ini" "$paste/nova-api-paste.ini"
  cp "$debs/x/usr/share/glance-common/glance-api-paste.ini" "$paste/glance-api-paste.ini"
  cp "$debs/x/usr/share/neutron-common/api-paste.ini" "$paste/neutron-api-paste.ini"
  rm -rf "$debs"
fi

npm ci --no-audit --no-fund
npx astro build
# Programs that lessons run in their sandboxes (C sources shipped with the lesson).
for makefile in lessons/*/native/Makefile; do
  if [ -e "$makefile" ]; then make -s -C "$(dirname "$makefile")"; fi
done
mkdir -p -m 0755 /var/lib/opslab
# Profiles that grant /dev/net/tun (tap devices inside the sandbox's own network namespace) need it
# openable by unprivileged uids, as Debian's udev rules make it; some machines ship it 0600.
[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
echo "setup: done"
