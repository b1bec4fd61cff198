#!/usr/bin/python3
"""Reads a PXE menu as pxelinux would, over TFTP from a client on the LAN, and checks it.

pxelinux looks for its config file in this order: pxelinux.cfg/<client UUID>, 01-<MAC>, the
client's IP in hex (then with one hex digit less each time), then `default`; it follows
INCLUDE / MENU INCLUDE, and loads each module, kernel and initrd by TFTP when it needs them.
This script does the same walk and reports every referenced file the server does not serve.

usage: pxemenu.py SERVER MAC IP [--title]
"""
import socket
import struct
import sys

TFTP_PORT = 69


class TftpError(Exception):
    pass


def tftp_read(server, name, limit=None, timeout=3.0):
    """Fetches a file by TFTP (RFC 1350, octet mode); with `limit`, stops once it has that many bytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    request = struct.pack('!H', 1) + name.encode() + b'\0octet\0'
    data, expected, peer = b'', 1, None
    try:
        for _attempt in range(3):
            sock.sendto(request, (server, TFTP_PORT))
            try:
                packet, peer = sock.recvfrom(65536)
                break
            except socket.timeout:
                continue
        else:
            raise TftpError(f'no answer from {server}:{TFTP_PORT} (is enable-tftp set and dnsmasq running?)')
        while True:
            opcode = struct.unpack('!H', packet[:2])[0]
            if opcode == 5:
                raise TftpError(packet[4:].split(b'\0')[0].decode(errors='replace') or 'error')
            if opcode != 3:
                raise TftpError(f'unexpected TFTP packet {opcode}')
            block = struct.unpack('!H', packet[2:4])[0]
            if block == expected:
                data += packet[4:]
                expected = (expected + 1) & 0xFFFF
            if limit is not None and len(data) >= limit:
                # Ends the transfer early: an ERROR packet is how a TFTP client cancels.
                sock.sendto(struct.pack('!HH', 5, 0) + b'enough\0', peer)
                return data
            sock.sendto(struct.pack('!HH', 4, block), peer)
            if len(packet) - 4 < 512:
                return data
            packet, _ = sock.recvfrom(65536)
    except socket.timeout:
        raise TftpError('the transfer stalled')
    finally:
        sock.close()


def config_candidates(mac, ip):
    """pxelinux's search order (without the UUID: a check's client has none)."""
    names = ['01-' + mac.lower().replace(':', '-')]
    hex_ip = ''.join(f'{int(part):02X}' for part in ip.split('.'))
    names += [hex_ip[:n] for n in range(len(hex_ip), 0, -1)]
    return ['pxelinux.cfg/' + n for n in names] + ['pxelinux.cfg/default']


class Menu:
    def __init__(self, server):
        self.server = server
        self.title = None
        self.default = None
        self.labels = []          # dicts: name, label, kernel, initrds, localboot, depth
        self.submenus = []        # titles of MENU BEGIN blocks that hold at least one entry
        self.files = {}           # file -> what references it
        self.problems = []
        self.read = []

    def refer(self, name, why):
        self.files.setdefault(name.lstrip('/'), why)

    def parse_file(self, name, why, depth=0):
        try:
            text = tftp_read(self.server, name).decode('utf-8', errors='replace')
        except TftpError as error:
            self.problems.append(f'{name} ({why}) is not served: {error}')
            return
        self.read.append(name)
        stack = []
        entry = None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            words = line.split(None, 1)
            key, rest = words[0].upper(), (words[1].strip() if len(words) > 1 else '')
            if key == 'MENU':
                sub = rest.split(None, 1)
                subkey, arg = (sub[0].upper() if sub else ''), (sub[1].strip() if len(sub) > 1 else '')
                if subkey == 'TITLE' and not stack and self.title is None:
                    self.title = arg
                elif subkey == 'TITLE' and stack:
                    stack[-1]['title'] = arg
                elif subkey == 'INCLUDE':
                    self.parse_file(arg.split()[0], f'MENU INCLUDE in {name}:{number}', depth + 1)
                elif subkey == 'BEGIN':
                    stack.append({'title': arg or '(untitled)', 'entries': 0})
                    entry = None
                elif subkey == 'END':
                    if not stack:
                        self.problems.append(f'{name}:{number}: MENU END without MENU BEGIN')
                        continue
                    block = stack.pop()
                    if block['entries']:
                        self.submenus.append(block['title'])
                    entry = None
                elif subkey == 'LABEL' and entry is not None:
                    entry['label'] = arg
                elif subkey == 'BACKGROUND' and arg and not arg.startswith('#'):
                    self.refer(arg, f'MENU BACKGROUND in {name}:{number}')
            elif key == 'INCLUDE':
                self.parse_file(rest.split()[0], f'INCLUDE in {name}:{number}', depth + 1)
            elif key in ('DEFAULT', 'UI'):
                module = rest.split()[0] if rest else ''
                if key == 'UI' or module.endswith('.c32'):
                    self.default = module
                    self.refer(module, f'{key} in {name}:{number}')
            elif key == 'LABEL':
                entry = {'name': rest, 'label': rest, 'kernel': None, 'initrds': [], 'localboot': False}
                self.labels.append(entry)
                if stack:
                    stack[-1]['entries'] += 1
            elif entry is not None and key in ('KERNEL', 'LINUX', 'COM32'):
                entry['kernel'] = rest.split()[0]
                self.refer(entry['kernel'], f'{key} of LABEL {entry["name"]}')
            elif entry is not None and key == 'INITRD':
                self.add_initrds(entry, rest)
            elif entry is not None and key == 'APPEND':
                for word in rest.split():
                    if word.startswith('initrd='):
                        self.add_initrds(entry, word[len('initrd='):])
            elif entry is not None and key == 'LOCALBOOT':
                entry['localboot'] = True
        if stack:
            self.problems.append(f'{name}: MENU BEGIN "{stack[-1]["title"]}" has no MENU END')

    def add_initrds(self, entry, names):
        for initrd in names.split(','):
            entry['initrds'].append(initrd)
            self.refer(initrd, f'initrd of LABEL {entry["name"]}')


def main():
    server, mac, ip = sys.argv[1:4]
    want_title = '--title' in sys.argv
    tried = []
    for name in config_candidates(mac, ip):
        try:
            tftp_read(server, name, limit=1)
            config = name
            break
        except TftpError:
            tried.append(name)
    else:
        print('pxelinux would find no config file: not pxelinux.cfg/default, nor one for this client.')
        return 1
    menu = Menu(server)
    menu.parse_file(config, 'the config file')
    if want_title:
        print(menu.title or '')
        return 0 if menu.title else 1
    if menu.default and menu.default.endswith('.c32'):
        # menu.c32 and vesamenu.c32 load these libraries at run time.
        for library in ('libcom32.c32', 'libutil.c32'):
            menu.refer(library, f'needed by {menu.default}')
    for name, why in sorted(menu.files.items()):
        try:
            tftp_read(server, name, limit=1)
        except TftpError as error:
            menu.problems.append(f'{name} ({why}) is not served: {error}')
    local = [e for e in menu.labels if e['localboot']]
    linux = [e for e in menu.labels if e['kernel'] and not e['kernel'].endswith('.c32') and e['initrds']]
    if not menu.default:
        menu.problems.append('no DEFAULT vesamenu.c32 (or UI): pxelinux would show a bare boot: prompt, not a menu')
    if not menu.title:
        menu.problems.append('the menu has no MENU TITLE (put it in the included pxelinux.cfg/pxe.conf)')
    if len(menu.read) < 2:
        menu.problems.append('no MENU INCLUDE: the seed keeps the look of the menu in pxelinux.cfg/pxe.conf')
    if not local:
        menu.problems.append('no entry boots the local disk (LABEL BootLocal with localboot 0)')
    if not menu.submenus:
        menu.problems.append('no submenu (MENU BEGIN … LABEL … MENU END)')
    if not linux:
        menu.problems.append('no installer entry (a LABEL with KERNEL debian-installer/amd64/linux and APPEND initrd=…)')
    skipped = f' (after {tried[0]}, {tried[1]} … {tried[-1]})' if len(tried) > 2 else ''
    if menu.problems:
        print(f'pxelinux on a client with MAC {mac} and IP {ip} reads {config}{skipped}. Not ready yet:')
        for problem in menu.problems:
            print(f'- {problem}')
        return 1
    print(f'pxelinux on a client with MAC {mac} and IP {ip} reads {config}{skipped}, includes '
          f'{", ".join(menu.read[1:])}, and shows "{menu.title}": {len(menu.labels)} entries, '
          f'local boot ({local[0]["name"]}), installer ({linux[0]["name"]}: {linux[0]["kernel"]}), '
          f'submenu "{menu.submenus[0]}". All {len(menu.files)} files it references are served by TFTP.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
