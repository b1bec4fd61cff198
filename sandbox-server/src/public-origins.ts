/**
 * The origins the workshop is served at (scheme, host and port). A request whose Host is not one
 * of them is refused (a DNS-rebinding page reaches us with its own name in Host), and a WebSocket
 * whose Origin is not exactly one of them is refused (a page elsewhere must not drive a shell).
 */
import { networkInterfaces } from 'node:os';

/** Canonical `scheme://host[:port]` (lower case, default port elided), or undefined if malformed. */
function canonical(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Where a server listening on host:port is reachable by default: loopback names, and when it
 * listens on every address, each of the machine's own addresses (names need configuring: a name
 * is exactly what a rebinding attack controls).
 */
export function defaultOrigins(host: string, port: number): string[] {
  const hosts = ['localhost', '127.0.0.1', '[::1]'];
  if (host === '0.0.0.0' || host === '::') {
    for (const address of Object.values(networkInterfaces()).flat()) {
      if (address) hosts.push(address.family === 'IPv6' ? `[${address.address.split('%')[0]}]` : address.address);
    }
  } else if (!hosts.includes(host)) {
    hosts.push(host.includes(':') ? `[${host}]` : host);
  }
  return hosts.map((h) => `http://${h}:${port}`);
}

export class PublicOrigins {
  readonly origins: ReadonlySet<string>;
  private readonly hosts: ReadonlySet<string>;

  constructor(origins: string[]) {
    const parsed = origins.map((o) => {
      const c = canonical(o);
      if (!c) throw new Error(`"${o}" is not an origin (scheme://host[:port], e.g. https://workshop.example.org)`);
      return c;
    });
    this.origins = new Set(parsed);
    this.hosts = new Set(parsed.map((o) => new URL(o).host));
  }

  /** The Host header names one of our origins (compared as the URL parser normalises it). */
  hostAllowed(host: string | undefined): boolean {
    if (!host || /[\s/?#@\\]/.test(host)) return false;
    try {
      return this.hosts.has(new URL(`http://${host}`).host) || this.hosts.has(new URL(`https://${host}`).host);
    } catch {
      return false;
    }
  }

  /** The Origin header is exactly one of ours: scheme, host and port. */
  originAllowed(origin: string | undefined): boolean {
    const c = origin === undefined ? undefined : canonical(origin);
    return c !== undefined && this.origins.has(c);
  }

  /** Every origin is https: the identity cookie can be marked Secure. */
  get httpsOnly(): boolean {
    return [...this.origins].every((o) => o.startsWith('https:'));
  }
}
