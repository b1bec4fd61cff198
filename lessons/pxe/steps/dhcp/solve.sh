#!/bin/bash
set -e
cat > /etc/dnsmasq.conf <<'CONF'
interface=eth0
bind-interfaces
port=0
dhcp-range=10.0.0.50,10.0.0.150,255.255.255.0,12h
dhcp-option=option:router,10.0.0.1
dhcp-boot=pxelinux.0,pxeserver,10.0.0.1
pxe-service=x86PC,"Booting from Network...",pxelinux
enable-tftp
tftp-root=/tftpboot
log-dhcp
enable-ra
dhcp-range=::,constructor:eth0,ra-only
CONF
ip addr add fd00::1/64 dev eth0 2>/dev/null || true
mkdir -p /tftpboot/pxelinux.cfg
cp /usr/lib/PXELINUX/pxelinux.0 /tftpboot/
cp /usr/lib/syslinux/modules/bios/{ldlinux,vesamenu,menu,libcom32,libutil}.c32 /tftpboot/
[ -e /tftpboot/pxelinux.cfg/default ] || printf 'DEFAULT vesamenu.c32\nPROMPT 0\nTIMEOUT 100\nMENU TITLE PXE Boot Menu\nLABEL BootLocal\n  MENU LABEL Boot from local disk\n  localboot 0\n' > /tftpboot/pxelinux.cfg/default
service dnsmasq restart
