/**
 * Which node of the room holds each attendee (a room of several nodes on PostgreSQL).
 *
 * An attendee is placed when their first lesson page or terminal reaches a node: on that node if it
 * has room for the lesson's sandbox profile (the load balancer already spread newcomers by a hash of
 * their cookie), else on the live node with the most room. The placement is kept in the store and
 * told to the load balancer by the `opslab_node` cookie (deploy/haproxy/haproxy.cfg reads it): every
 * later request of theirs goes to that node. When it dies, the node their next connection reaches
 * takes them over (node-store.ts) and re-creates their sandbox, replaying their passed steps.
 */
import { existsSync } from 'node:fs';
import type { ProfileSpec } from './config.ts';
import { log } from './log.ts';
import type { NodeCapacity, NodeStore } from './node-store.ts';
import { memAvailableBytes } from './sandbox/procfs.ts';

export const NODE_COOKIE = 'opslab_node';
/** Often enough that a dead node's attendees move within seconds; the lease is several beats. */
const HEARTBEAT_MS = 2_000;

export interface PlacementOptions {
  nodes: NodeStore;
  self: { id: string; incarnation: string };
  profiles: Record<string, ProfileSpec>;
  maxSandboxes: number;
  /** Live sandboxes on this node now. */
  sandboxes(): number;
  /** Memory kept free for the attendees' own work (the warm pool's reserve). */
  reserveBytes: number;
  /** The sandbox profile of a lesson (undefined: no such lesson). */
  profileOf(lesson: string): string | undefined;
  /** A node that took attendees over (measured: from a node's death to a prompt elsewhere). */
  onTakeover?(attendee: string, from: string): void;
  /** Up again after being taken for dead: what the room forgot of this node (its open pages) is told again. */
  onAnnouncedAgain?(): void;
  /** The node cookie's Secure attribute (every public origin is https). */
  secureCookies: boolean;
  memAvailable?: () => number;
}

export class Placement {
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private url = '';

  constructor(private readonly o: PlacementOptions) {}

  get self(): string {
    return this.o.self.id;
  }

  /** Free sandboxes per profile: the room's cap on this node, and memory for each profile's limit. */
  capacity(): NodeCapacity {
    const sandboxes = this.o.sandboxes();
    const memoryAvailableBytes = (this.o.memAvailable ?? memAvailableBytes)();
    const slots = Math.max(0, this.o.maxSandboxes - sandboxes);
    const free = Object.fromEntries(
      Object.entries(this.o.profiles).map(([name, spec]) => [
        name,
        spec.devices.every((device) => existsSync(device)) ? Math.min(slots, Math.max(0, Math.floor((memoryAvailableBytes - this.o.reserveBytes) / spec.limits.memoryBytes))) : 0,
      ]),
    );
    return { sandboxes, maxSandboxes: this.o.maxSandboxes, memoryAvailableBytes, free };
  }

  /** Takes new attendees: not stopping, and room for the smallest sandbox. */
  get accepting(): boolean {
    return this.acceptsWith(this.capacity());
  }

  private acceptsWith(capacity: NodeCapacity): boolean {
    return !this.stopping && Object.values(capacity.free).some((n) => n > 0);
  }

  /** Announces this node (`url`: where the balancer and the other nodes reach it) and keeps it alive. */
  async start(url: string): Promise<void> {
    this.url = url;
    await this.o.nodes.announce({ id: this.o.self.id, url, incarnation: this.o.self.incarnation, capacity: this.capacity() });
    this.timer = setInterval(() => void this.beat().catch((error) => log.warn({ err: error }, 'the node\'s heartbeat failed')), HEARTBEAT_MS);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.stopping) return;
    const capacity = this.capacity();
    const current = await this.o.nodes.heartbeat(this.o.self.id, this.o.self.incarnation, capacity, this.acceptsWith(capacity));
    if (!current) {
      // Found dead meanwhile (a long stall, its connections lost): up again, the same process. The
      // attendees moved since stay where they are; those nobody took over are still placed here.
      log.warn({ node: this.o.self.id }, 'this node was taken for dead: it announces itself again');
      try {
        await this.o.nodes.announce({ id: this.o.self.id, url: this.url, incarnation: this.o.self.incarnation, capacity: this.capacity() });
        this.o.onAnnouncedAgain?.();
      } catch (error) {
        // Another live process holds the id now (two machines given one OPSLAB_NODE_ID), or the
        // store failed: said every beat, and the room's dead nodes are still looked for below.
        log.error({ node: this.o.self.id, err: error }, 'this node could not announce itself again');
      }
    }
    for (const dead of await this.o.nodes.sweepDead()) log.warn({ node: dead }, 'a node of the room is dead: its attendees move at their next connection');
  }

  /**
   * The node that holds this attendee: a newcomer is placed (here, or on the node with the most room
   * for the lesson's profile); one whose node died is taken over by this node.
   */
  async nodeFor(attendee: string, lesson?: string): Promise<string> {
    for (let tries = 0; tries < 3; tries++) {
      const placed = await this.o.nodes.placementOf(attendee);
      if (placed === this.self) return placed;
      if (placed) {
        if ((await this.o.nodes.node(placed))?.alive) return placed;
        if (await this.o.nodes.takeOver(attendee, placed, this.self)) {
          log.info({ attendee, from: placed }, 'took over an attendee of a dead node');
          this.o.onTakeover?.(attendee, placed);
          return this.self;
        }
        continue; // another node took them over first: read again
      }
      return this.o.nodes.place(attendee, await this.roomiestFor(lesson));
    }
    return this.self;
  }

  /** Where the attendee is placed now, without placing them. */
  placementOf(attendee: string): Promise<string | undefined> {
    return this.o.nodes.placementOf(attendee);
  }

  private async roomiestFor(lesson: string | undefined): Promise<string> {
    const profile = (lesson && this.o.profileOf(lesson)) || 'small';
    if (!this.stopping && (this.capacity().free[profile] ?? 0) > 0) return this.self;
    const others = (await this.o.nodes.nodes()).filter((n) => n.alive && n.accepting && n.id !== this.self && (n.capacity.free[profile] ?? 0) > 0);
    others.sort((a, b) => (b.capacity.free[profile] ?? 0) - (a.capacity.free[profile] ?? 0));
    // No node has room: here, where the usual "the room is full" answers apply.
    return others[0]?.id ?? this.self;
  }

  /** The Set-Cookie value that names a node to the load balancer (it only reads it). */
  cookie(node: string): string {
    return `${NODE_COOKIE}=${node}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400${this.o.secureCookies ? '; Secure' : ''}`;
  }

  /** A clean stop: this node's attendees are placed anew at their next connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.o.nodes.leave(this.o.self.id, this.o.self.incarnation).catch((error) => log.warn({ err: error }, 'could not tell the room this node left'));
  }
}


