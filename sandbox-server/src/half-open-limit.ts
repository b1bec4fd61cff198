/**
 * A bound on connections that have not yet sent a whole request, per client address (slowloris:
 * thousands of half-sent requests would otherwise hold every file descriptor of the process).
 * Browsers finish their request headers within milliseconds, so the bound is far above what even
 * a room of 150 behind one NAT has half-open at once, and far below the process's descriptors.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { addressKey } from './client-address.ts';
import { log } from './log.ts';

export class HalfOpenLimit {
  private readonly counts = new Map<string, number>();
  private readonly pending = new WeakMap<Socket, string>();
  private refused = 0;
  private lastWarning = 0;

  constructor(private readonly maxPerAddress: number) {}

  /** Counts each new connection until `settled`; refuses (closes) one over the bound at once. */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      const key = addressKey(socket.remoteAddress);
      const count = this.counts.get(key) ?? 0;
      if (count >= this.maxPerAddress) {
        this.refused++;
        if (performance.now() - this.lastWarning > 10_000) {
          this.lastWarning = performance.now();
          log.warn({ address: key, limit: this.maxPerAddress, refusedSoFar: this.refused }, 'too many half-open connections from one address: refusing more');
        }
        socket.destroy();
        return;
      }
      this.counts.set(key, count + 1);
      this.pending.set(socket, key);
      socket.once('close', () => this.settled(socket));
    });
  }

  /** The connection sent a whole request (or closed): it no longer counts. */
  settled(socket: Socket): void {
    const key = this.pending.get(socket);
    if (key === undefined) return;
    this.pending.delete(socket);
    const count = (this.counts.get(key) ?? 1) - 1;
    if (count > 0) this.counts.set(key, count);
    else this.counts.delete(key);
  }

  /** For /api/health: half-open connections now, and connections refused since start. */
  stats(): { halfOpen: number; refused: number } {
    let halfOpen = 0;
    for (const count of this.counts.values()) halfOpen += count;
    return { halfOpen, refused: this.refused };
  }
}
