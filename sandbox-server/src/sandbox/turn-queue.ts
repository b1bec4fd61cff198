/**
 * Turns on the machine for work too heavy to run side by side: a QEMU boot takes a whole core for
 * its seconds, so a room booting together would make every boot (and every terminal) crawl. Work
 * waits in one FIFO queue for the whole server; each turn is bounded in time, so no sandbox can
 * keep the others waiting by holding on to its turn.
 *
 * This is fairness for work that asks for a turn, not a security boundary: a sandbox that runs
 * QEMU without asking is still held to its own CPU quota by its cgroup.
 */

export interface TurnOptions {
  /** Turns running at once. */
  slots: number;
  /** A turn ends after this long whether or not its holder is done. */
  maxTurnMs: number;
}

export interface Waiter {
  /** Called with how many turns come first (running or waiting; 0 = next) whenever that changes, until the turn starts. */
  onPosition(ahead: number): void;
  /** The turn starts; it lasts until release() or `maxTurnMs`, whichever comes first. */
  onTurn(turnMs: number): void;
  /** The turn was taken back after `maxTurnMs`. */
  onTimeUp(): void;
}

export interface Ticket {
  /** Leaves the queue, or ends the turn. Idempotent. */
  release(): void;
}

interface Entry {
  waiter: Waiter;
  timer?: NodeJS.Timeout;
  lastPosition?: number;
}

export class TurnQueue {
  private readonly waiting: Entry[] = [];
  private readonly running = new Set<Entry>();

  constructor(private readonly options: TurnOptions) {}

  get queued(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running.size;
  }

  enter(waiter: Waiter): Ticket {
    const entry: Entry = { waiter };
    this.waiting.push(entry);
    this.advance();
    return { release: () => this.leave(entry) };
  }

  private leave(entry: Entry): void {
    const index = this.waiting.indexOf(entry);
    if (index >= 0) this.waiting.splice(index, 1);
    if (this.running.delete(entry)) clearTimeout(entry.timer);
    this.advance();
  }

  private advance(): void {
    while (this.running.size < this.options.slots && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      this.running.add(entry);
      entry.timer = setTimeout(() => {
        entry.waiter.onTimeUp();
        this.leave(entry);
      }, this.options.maxTurnMs);
      entry.timer.unref();
      entry.waiter.onTurn(this.options.maxTurnMs);
    }
    this.waiting.forEach((entry, index) => {
      const ahead = this.running.size + index;
      if (entry.lastPosition === ahead) return;
      entry.lastPosition = ahead;
      entry.waiter.onPosition(ahead);
    });
  }
}
