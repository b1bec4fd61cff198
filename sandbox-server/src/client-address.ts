/**
 * Who a connection counts as, for per-address limits: an IPv4 address, or an IPv6 /64 (one
 * machine usually holds a whole /64, and privacy addresses would otherwise give it thousands).
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right];
}

export function addressKey(remote: string | undefined): string {
  if (!remote) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  if (mapped) return mapped[1]!;
  if (!isIPv6(remote)) return remote;
  return `${expandIPv6(remote.split('%')[0]!).slice(0, 4).map((h) => h.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * The client's address behind the room's load balancers: a request from one of them (a trusted
 * proxy, OPSLAB_TRUSTED_PROXIES) counts as the last address in its X-Forwarded-For — the one the
 * proxy itself saw and appended; anything before it came from the client and could be made up.
 * Any other peer is who it is, whatever header it sends.
 */
export class ClientAddresses {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  /** `proxies`: addresses or CIDR ranges ("10.0.0.0/8", "::1"); an entry that is neither is refused by name. */
  constructor(proxies: readonly string[]) {
    for (const entry of proxies) {
      const [address = '', bits, ...rest] = entry.split('/');
      const type = isIPv6(address) ? 'ipv6' : isIPv4(address) ? 'ipv4' : undefined;
      const prefix = bits === undefined ? undefined : Number(bits);
      if (!type || rest.length > 0 || (prefix !== undefined && (!/^\d{1,3}$/.test(bits!) || prefix > (type === 'ipv4' ? 32 : 128)))) {
        throw new Error(`OPSLAB_TRUSTED_PROXIES: "${entry}" is not an address or a CIDR range like 10.0.0.0/8`);
      }
      if (prefix === undefined) this.trusted.addAddress(address, type);
      else this.trusted.addSubnet(address, prefix, type);
    }
    this.any = proxies.length > 0;
  }

  private isTrusted(remote: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
    if (mapped) return this.trusted.check(mapped[1]!, 'ipv4');
    return isIPv6(remote) ? this.trusted.check(remote, 'ipv6') : isIPv4(remote) && this.trusted.check(remote, 'ipv4');
  }

  /** The per-address key (addressKey) of the client behind this request. */
  of(request: IncomingMessage): string {
    const peer = request.socket.remoteAddress;
    if (this.any && peer && this.isTrusted(peer)) {
      const header = request.headers['x-forwarded-for'];
      const last = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => hop.trim()).filter(Boolean).at(-1);
      if (last && isIP(last)) return addressKey(last);
    }
    return addressKey(peer);
  }
}
