#!/bin/bash
set -e
mkdir -p /tftpboot/pxelinux.cfg
cp /usr/lib/syslinux/modules/bios/{ldlinux,vesamenu,menu,libcom32,libutil}.c32 /tftpboot/
ln -sfn /usr/lib/debian-installer/images/12/amd64/text/debian-installer /tftpboot/debian-installer
cat > /tftpboot/pxelinux.cfg/pxe.conf <<'CONF'
MENU TITLE Opslab PXE Boot Menu
NOESCAPE 1
ALLOWOPTIONS 1
PROMPT 0
TIMEOUT 100
CONF
cat > /tftpboot/pxelinux.cfg/default <<'CONF'
DEFAULT vesamenu.c32
MENU INCLUDE pxelinux.cfg/pxe.conf

LABEL BootLocal
  MENU LABEL Boot from local disk
  localboot 0

MENU BEGIN install
MENU TITLE Install a system
  LABEL debian12
    MENU LABEL Debian 12 (bookworm) installer
    KERNEL debian-installer/amd64/linux
    APPEND initrd=debian-installer/amd64/initrd.gz console=ttyS0 --- quiet
  LABEL back
    MENU LABEL Back
    MENU EXIT
MENU END
CONF
