/**
 * Sandboxes made before anyone asks: per lesson, up to `size` ready sandboxes (the lesson's
 * profile, its files bound, its setup.sh run, its shell started and waiting at its prompt), so that
 * an attendee who opens the lesson takes one and nothing is left to start. Nothing in a lesson's
 * setup depends on who takes the sandbox: lessons with shared services, whose sandboxes carry the
 * attendee's own doors and credentials from the start, are not pooled.
 *
 * Refilled in the background at a bounded rate: one sandbox at a time, only while no attendee's
 * start is waiting for its turn, and never beyond the room's cap (a pooled sandbox is a sandbox).
 *
 * How many per lesson: `size` for the lessons it serves (OPSLAB_POOL_SIZE), or more where an event
 * asks for it (setTargets: a room about to arrive); what an event asks for is made only while the
 * machine keeps `memoryReserveBytes` available.
 */
import type { LimitFunction } from 'p-limit';
import type { SandboxProfile } from '../../lesson-model/schema.ts';
import type { ProfileSpec } from './config.ts';
import { log } from './log.ts';
import type { Sandbox, SandboxBackend } from './sandbox/backend.ts';
import type { StagedLesson } from './sessions.ts';
import { runSetup } from './checker.ts';
import { memAvailableBytes } from './sandbox/procfs.ts';

export interface PoolOptions {
  /** Ready sandboxes kept per lesson; 0: no pool. */
  size: number;
  /** The lessons it serves; undefined: every lesson without shared services. */
  lessons?: readonly string[];
  profiles: Record<SandboxProfile, ProfileSpec>;
  /** The room's cap on live sandboxes: the pool only fills what is left under it. */
  maxSandboxes: number;
  /** Attendees' starts: the pool waits while any of them runs or waits. */
  startTurn: LimitFunction;
  /** Pause between two pooled creates, so a refill never takes the machine from the room. */
  intervalMs?: number;
  /** Sandboxes an event asks for are made only while the machine has this much memory available. */
  memoryReserveBytes?: number;
  /** MemAvailable now (a seam for tests; /proc/meminfo by default). */
  memAvailable?: () => number;
}

/** What the pool holds for a lesson, against what it was asked for. */
export interface PoolStatus {
  lesson: string;
  ready: number;
  target: number;
  /** Filling stopped short of the target: the machine's available memory reached the reserve. */
  memoryBound: boolean;
}

export class SandboxPool {
  private readonly ready = new Map<string, Sandbox[]>();
  /** Lessons whose pooled sandbox failed lately, and until when they wait: the others still fill. */
  private readonly failing = new Map<string, { failures: number; until: number }>();
  private refilling: Promise<void> | undefined;
  private closed = false;
  private created = 0;
  /** The lessons OPSLAB_POOL_LESSONS names (every poolable one by default): they keep `size`. */
  private readonly served = new Set<string>();
  /** Events' wishes, per lesson. */
  private targets = new Map<string, number>();
  private readonly memoryBound = new Set<string>();

  constructor(
    private readonly backend: SandboxBackend,
    private readonly lessons: Map<string, StagedLesson>,
    private readonly options: PoolOptions,
  ) {
    for (const slug of options.lessons ?? []) {
      const staged = lessons.get(slug);
      if (!staged) throw new Error(`OPSLAB_POOL_LESSONS names "${slug}", which is no lesson here (lessons: ${[...lessons.keys()].join(', ')})`);
      if (!this.pooled(staged)) throw new Error(`OPSLAB_POOL_LESSONS names "${slug}", whose sandboxes cannot be made in advance: it uses shared services (${staged.lesson.services.join(', ')})`);
    }
    for (const [slug, staged] of lessons) {
      if (!this.pooled(staged)) continue;
      this.ready.set(slug, []);
      if (options.lessons?.includes(slug) ?? true) this.served.add(slug);
    }
  }

  /** Whether this lesson's sandboxes can be made in advance (no shared services). */
  canPool(slug: string): boolean {
    return this.ready.has(slug);
  }

  private want(slug: string): number {
    return Math.max(this.served.has(slug) ? this.options.size : 0, this.targets.get(slug) ?? 0);
  }

  /**
   * What the events ask for now, per lesson (replacing what they asked before). A lesson asked for
   * less than it holds gives the extra sandboxes back at once: the memory is the next lesson's.
   */
  async setTargets(targets: ReadonlyMap<string, number>): Promise<void> {
    this.targets = new Map([...targets].filter(([slug]) => this.ready.has(slug)));
    this.memoryBound.clear(); // memory is looked at again before the next create
    const extra = [...this.ready.entries()].flatMap(([slug, list]) => list.splice(this.want(slug)));
    await Promise.all(extra.map((sandbox) => sandbox.destroy()));
    this.refill();
  }

  status(slug: string): PoolStatus {
    return { lesson: slug, ready: this.ready.get(slug)?.length ?? 0, target: this.want(slug), memoryBound: this.memoryBound.has(slug) };
  }

  /** Sandboxes waiting in the pool now. */
  get size(): number {
    let count = 0;
    for (const list of this.ready.values()) count += list.length;
    return count;
  }

  /** What waits in the pool: lesson and host uid of each sandbox. */
  waiting(): Array<{ lesson: string; uid: number }> {
    return [...this.ready.entries()].flatMap(([lesson, list]) => list.map((sandbox) => ({ lesson, uid: sandbox.uid })));
  }

  /** A ready sandbox of this lesson's (set up, its shell waiting), or undefined (then the caller makes one). */
  take(slug: string): Sandbox | undefined {
    const sandbox = this.ready.get(slug)?.shift();
    this.refill();
    return sandbox;
  }

  /** Destroys one pooled sandbox (of the fullest lesson) to make room for an attendee's; false if none. */
  async shrink(): Promise<boolean> {
    const fullest = [...this.ready.values()].sort((a, b) => b.length - a.length)[0];
    const sandbox = fullest?.pop();
    if (!sandbox) return false;
    await sandbox.destroy();
    return true;
  }

  /** Starts filling the pool in the background, if it is not already. */
  refill(): void {
    if (this.closed || this.refilling || ![...this.ready.keys()].some((slug) => this.want(slug) > 0)) return;
    this.refilling = this.fill()
      .catch((error) => log.error({ err: error }, 'refilling the sandbox pool failed'))
      .finally(() => {
        this.refilling = undefined;
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.refilling;
    const all = [...this.ready.values()].flatMap((list) => list.splice(0));
    await Promise.all(all.map((sandbox) => sandbox.destroy()));
  }

  private pooled(staged: StagedLesson): boolean {
    return staged.lesson.services.length === 0;
  }

  private async fill(): Promise<void> {
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (;;) {
      const now = Date.now();
      const wanting = [...this.ready.entries()]
        .filter(([slug, list]) => list.length < this.want(slug) && !this.memoryBound.has(slug) && (this.failing.get(slug)?.until ?? 0) <= now)
        .sort((a, b) => a[1].length - b[1].length)[0];
      if (this.closed) return;
      if (!wanting) {
        // Only lessons waiting after a failure want more: try again when the first one's wait is over.
        const next = Math.min(...[...this.failing.values()].map((f) => f.until));
        if (!Number.isFinite(next) || ![...this.ready.entries()].some(([slug, list]) => list.length < this.want(slug) && !this.memoryBound.has(slug))) return;
        await pause(Math.min(1_000, Math.max(100, next - now))); // short steps: close() waits for this loop
        continue;
      }
      // The room first: no pooled create while an attendee's start runs or waits, or under a full room.
      const turn = this.options.startTurn;
      if (turn.activeCount + turn.pendingCount > 0 || this.backend.size >= this.options.maxSandboxes) {
        await pause(100);
        if (this.backend.size >= this.options.maxSandboxes && turn.activeCount + turn.pendingCount === 0) return; // full: refilled when one is taken
        continue;
      }
      const [slug, list] = wanting;
      // Beyond OPSLAB_POOL_SIZE, an event's wish: made only while the machine keeps its reserve.
      const reserve = this.options.memoryReserveBytes ?? 0;
      if (list.length >= (this.served.has(slug) ? this.options.size : 0) && reserve > 0 && (this.options.memAvailable ?? memAvailableBytes)() < reserve) {
        this.memoryBound.add(slug);
        log.warn({ lesson: slug, ready: list.length, target: this.want(slug), reserveMiB: Math.round(reserve / 2 ** 20) }, 'the warm pool stopped short: the machine is at its memory reserve');
        continue;
      }
      const staged = this.lessons.get(slug)!;
      let sandbox: Sandbox | undefined;
      try {
        sandbox = await this.backend.create({ id: `pool/${slug}/${++this.created}`, lessonDir: staged.stagedDir, ...this.options.profiles[staged.lesson.profile] });
        const setup = await runSetup(sandbox, staged.lesson);
        if (!setup.ok) throw new Error(`the lesson's setup failed: ${setup.output}`);
        sandbox.prepareShell();
        if (this.closed) {
          await sandbox.destroy();
          return;
        }
        const made = sandbox;
        list.push(made);
        this.failing.delete(slug);
        // One that dies while it waits (its spawner was lost, say) leaves the pool and is replaced.
        made.onExit(() => {
          const waiting = list.indexOf(made);
          if (waiting < 0) return; // taken or given way: no longer the pool's
          list.splice(waiting, 1);
          this.refill();
        });
      } catch (error) {
        await sandbox?.destroy();
        // A lesson that keeps failing waits longer each time (5 s, 10 s, … 5 min), not the others.
        const failures = (this.failing.get(slug)?.failures ?? 0) + 1;
        const waitMs = Math.min(5_000 * 2 ** (failures - 1), 300_000);
        this.failing.set(slug, { failures, until: Date.now() + waitMs });
        log.warn({ lesson: slug, failures, retryInMs: waitMs, err: error }, 'a pooled sandbox could not be made; trying again later');
      }
      await pause(this.options.intervalMs ?? 50);
    }
  }
}
