#!/usr/bin/env bash
# Run by `npm run setup` (as root) when a lesson to be set up uses the OpenStack service, after its
# packages (services/openstack/packages) are installed.
#
# The OpenStack APIs' paste pipelines ship in nova-common, glance-common and neutron-common, whose
# maintainer scripts would set up services on this host: take only those files from the packages.
set -euo pipefail
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
