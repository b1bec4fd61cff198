#!/bin/bash
# A fresh machine on the LAN asks for a lease the way a PXE client does, then fetches the boot
# loader, its core module and the menu by TFTP; each must arrive byte for byte.
. /opt/opslab/lesson/lib/checks.sh
require_dnsmasq
lan_client
take_lease
[ -n "$LEASE_ip" ] || fail "The client got no address."
case "$LEASE_ip" in 10.0.0.*) ;; *) fail "The client got $LEASE_ip, which is not on the lab LAN 10.0.0.0/24: check dhcp-range.";; esac
[ "$LEASE_router" = 10.0.0.1 ] || fail "The lease of $LEASE_ip names no gateway 10.0.0.1 (got '${LEASE_router}'): dhcp-option=option:router,10.0.0.1"
[ "$LEASE_boot_file" = pxelinux.0 ] || fail "The offer carries no boot file pxelinux.0 (got '${LEASE_boot_file}'): dhcp-boot=pxelinux.0,pxeserver,10.0.0.1"
[ "$LEASE_siaddr" = 10.0.0.1 ] || fail "The offer names next server '${LEASE_siaddr}', not 10.0.0.1: dhcp-boot=pxelinux.0,pxeserver,10.0.0.1"
tmp=$(mktemp -d)
for file in pxelinux.0 ldlinux.c32 pxelinux.cfg/default; do
  out=$(tftp_get "$file" "$tmp/got") || fail "TFTP from 10.0.0.1 could not fetch $file: $out (is enable-tftp set and tftp-root=/tftpboot? is the file there?)"
  cmp -s "$tmp/got" "/tftpboot/$file" || fail "$file arrived by TFTP but differs from /tftpboot/$file."
done
cmp -s /tftpboot/pxelinux.0 /usr/lib/PXELINUX/pxelinux.0 || fail "/tftpboot/pxelinux.0 is not the one from /usr/lib/PXELINUX/."
cmp -s /tftpboot/ldlinux.c32 /usr/lib/syslinux/modules/bios/ldlinux.c32 || fail "/tftpboot/ldlinux.c32 is not the one from /usr/lib/syslinux/modules/bios/ (pxelinux.0 6.04 needs its own version)."
echo "A new client got $LEASE_ip with gateway $LEASE_router, boot file $LEASE_boot_file from next server $LEASE_siaddr, and fetched pxelinux.0, ldlinux.c32 and pxelinux.cfg/default by TFTP, byte for byte."
