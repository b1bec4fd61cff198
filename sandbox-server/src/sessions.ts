/**
 * Sessions: one sandbox per (attendee, lesson), shared by that lesson's terminals.
 *
 * A session outlives its connections: a reload or a dropped network reattaches to the same shells.
 * It is destroyed after `idleTimeoutMs` with nothing attached, or at shutdown. When a sandbox has
 * to be (re-)created for an attendee who already passed steps — after a server restart, an idle
 * reap or a crash — setup.sh runs again and then the solves of those steps, in lesson order.
 */
import type { CheckResultPayload, ProgressPayload, StatusPayload } from '../../protocol/messages.ts';
import type { SandboxSummary } from '../../protocol/sandboxes.ts';
import type { Lesson, StepSpec } from '../../lesson-model/catalog.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { answerFrom, gradeQuiz, runCheck, runSolve } from './checker.ts';
import { replaySolves, setUpLesson } from './lesson-sandbox.ts';
import { nextLoopTurn } from './loop-turns.ts';
import { log } from './log.ts';
import { SandboxPool } from './sandbox-pool.ts';
import type { Sandbox, SandboxAttachment, SandboxBackend } from './sandbox/backend.ts';
import type { ProfileSpec } from './config.ts';
import type { SandboxProfile } from '../../lesson-model/schema.ts';
import { isDone, type ProgressStore } from './store.ts';
import { Terminal } from './terminal.ts';

export interface StagedLesson {
  lesson: Lesson;
  /** Read-only copy of the lesson's runtime files (see lesson-staging.ts). */
  stagedDir: string;
}

/** What a connection hears from its session besides its own terminal's bytes. */
export interface SessionListener {
  status(payload: StatusPayload): void;
  progress(payload: ProgressPayload): void;
}

export interface SessionOptions {
  /** What /metrics counts (metrics.ts). */
  metrics?: {
    sandboxStarted(profile: string, kind: 'new' | 'pool' | 'restore', seconds: number, ok: boolean): void;
    checked(profile: string, passed: boolean, seconds: number): void;
  };
  idleTimeoutMs: number;
  scrollbackBytes: number;
  profiles: Record<SandboxProfile, ProfileSpec>;
  maxSandboxes: number;
  maxSandboxesPerAttendee: number;
  maxSandboxesPerAddress: number;
  /** Sandboxes being created and set up at the same time; the rest wait their turn (see SessionManager). */
  maxConcurrentStarts: number;
  /** Ready sandboxes kept per lesson (sandbox-pool.ts); 0: none. */
  poolSize?: number;
  /** The lessons the pool serves; undefined: every lesson without shared services. */
  poolLessons?: readonly string[];
  /** Sandboxes an event asks the pool for are made only while this much memory is available. */
  poolMemoryReserveBytes?: number;
  /** The room's shared services (a lesson's `services:`); absent when no lesson needs any. */
  services?: SharedServices;
  /** Told after every recorded check or solve (the instructor's grid follows it). */
  onStepRecorded?: (attendee: string, lesson: string) => void;
}

/** The room's shared services a lesson declares (shared-services.ts): brought up once, attached per sandbox. */
export interface SharedServices {
  /** Readies the lesson's services (first use starts them) and prepares what this attendee's sandbox gets. */
  attach(lesson: Pick<Lesson, 'dir' | 'services'>, attendee: string, progress: StageProgress): Promise<SandboxAttachment[]>;
}

/** A solve's output shown to the attendee: its end, where a failure says why. */
const SOLVE_OUTPUT_LIMIT = 4000;

function clipEnd(text: string, limit: number): string {
  return text.length <= limit ? text : `…${text.slice(-limit)}`;
}

/** A stage of a long start, in the attendee's words, and (when known) how far along it is, 0–1. */
export type StageProgress = (message: string, within?: number) => void;

/**
 * Tells the attendee where their sandbox's start is: each stage in words, how long it has taken so
 * far and, since the stages are known in advance, how much of it is done.
 */
class StartReport {
  private readonly began = performance.now();
  private done = 0;

  constructor(
    private readonly state: 'starting' | 'restoring',
    private readonly total: number,
    private readonly publish: (status: StatusPayload) => void,
  ) {}

  stage(message: string, within = 0): void {
    const done = Math.min(this.total, this.done + Math.max(0, Math.min(1, within)));
    this.publish({ state: this.state, message, elapsedMs: Math.round(performance.now() - this.began), progress: { done, total: this.total } });
  }

  next(): void {
    this.done++;
  }
}

export class SessionError extends Error {
  constructor(
    readonly code: 'unknown-lesson' | 'unknown-terminal' | 'unknown-step' | 'sandbox-failed' | 'not-ready' | 'capacity' | 'busy',
    message: string,
  ) {
    super(message);
  }
}

export class LessonSession {
  private sandbox: Sandbox | undefined;
  private starting: Promise<Sandbox> | undefined;
  private readonly terminals = new Map<string, Terminal>();
  private readonly listeners = new Set<SessionListener>();
  /**
   * Reads of the progress are numbered: a new listener gets its read only if no read started after it
   * (`reads`); a recorded check's read goes to every listener unless a later check's does (`broadcasts`).
   */
  private reads = 0;
  private broadcasts = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Checks and solves of one session run one at a time, in order: they share one sandbox's state. */
  private queue: Promise<unknown> = Promise.resolve();
  private lastStatus: StatusPayload = { state: 'starting', message: 'Starting your sandbox…', elapsedMs: 0 };
  /** When lastStatus was sent: a listener joining mid-start hears the start's elapsed time as of now. */
  private lastStatusAt = performance.now();
  private closed = false;
  /** How the current (or last) start made its sandbox, for /metrics. */
  private startKind: 'new' | 'pool' | 'restore' = 'new';
  /** When its last terminal was closed (undefined while one is attached): the oldest make room first. */
  private detachedAt: number | undefined = performance.now();
  /** The client address (addressKey) it was last opened from: per-address caps count it there. */
  address = 'unknown';

  constructor(
    readonly key: string,
    readonly attendee: string,
    readonly staged: StagedLesson,
    private readonly backend: SandboxBackend,
    private readonly store: ProgressStore,
    private readonly options: SessionOptions,
    private readonly onClosed: (session: LessonSession) => void,
    /** Makes room under the caps for this session's sandbox, or says why there is none. */
    private readonly capacity: (session: LessonSession) => Promise<string | undefined>,
    /** Runs the CPU-heavy part of a start when it is this session's turn. */
    private readonly startTurn: LimitFunction,
    private readonly pool: SandboxPool,
  ) {}

  /** Holds a sandbox, or is starting one: counts against the caps. */
  get holdsSandbox(): boolean {
    return Boolean(this.sandbox?.alive) || this.starting !== undefined;
  }

  get lesson(): Lesson {
    return this.staged.lesson;
  }

  /** Its sandbox runs (started, not being started). */
  get running(): boolean {
    return Boolean(this.sandbox?.alive) && this.starting === undefined;
  }

  /** Holds a sandbox nobody uses now: the caps may stop it to make room (progress stays recorded). */
  get reclaimable(): boolean {
    return Boolean(this.sandbox?.alive) && this.starting === undefined && this.listeners.size === 0;
  }

  /** Milliseconds since its last terminal was closed; 0 while one is attached. */
  get detachedForMs(): number {
    return this.detachedAt === undefined ? 0 : performance.now() - this.detachedAt;
  }

  listen(listener: SessionListener): () => void {
    this.listeners.add(listener);
    this.detachedAt = undefined;
    this.cancelIdle();
    listener.status(this.currentStatus());
    // Read from the store after this call returns: a progress sent since (a Check) is newer, and wins.
    const read = ++this.reads;
    this.progress().then(
      (progress) => {
        if (read === this.reads && this.listeners.has(listener)) listener.progress(progress);
      },
      (error) => log.error({ session: this.key, err: error }, 'reading progress failed'),
    );
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.detachedAt = performance.now();
        this.scheduleIdle();
      }
    };
  }

  progress(): Promise<ProgressPayload> {
    return this.store.lessonProgress(this.attendee, this.lesson.slug);
  }

  terminalQueues(): Array<{ inputBytes: number; outputPaused: boolean }> {
    return [...this.terminals.values()].map((terminal) => terminal.queues);
  }

  /** Returns the running sandbox, creating (and restoring) it if needed. Concurrent callers share one start. */
  ensureSandbox(): Promise<Sandbox> {
    if (this.sandbox?.alive) return Promise.resolve(this.sandbox);
    if (!this.starting) {
      const began = performance.now();
      const observe = (ok: boolean) => this.options.metrics?.sandboxStarted(this.lesson.profile, this.startKind, (performance.now() - began) / 1000, ok);
      this.starting = this.start()
        .then((sandbox) => (observe(true), sandbox), (error: unknown) => (observe(false), Promise.reject(error)))
        .finally(() => {
          this.starting = undefined;
        });
    }
    return this.starting;
  }

  private async start(): Promise<Sandbox> {
    const full = await this.capacity(this);
    if (full) {
      this.setStatus({ state: 'error', message: full });
      throw new SessionError('capacity', full);
    }
    const { steps: progress } = await this.progress();
    const done = this.lesson.steps.filter((step) => isDone(progress[step.id]));
    const report = new StartReport(done.length > 0 ? 'restoring' : 'starting', (this.lesson.services.length > 0 ? 1 : 0) + 2 + done.length, (status) => this.setStatus(status));
    report.stage(done.length > 0 ? 'Re-creating your sandbox and replaying the steps you completed…' : 'Starting your sandbox…');
    const attachments = await this.attachServices(report);
    const waiting = this.startTurn.activeCount + this.startTurn.pendingCount;
    if (waiting >= this.startTurn.concurrency) report.stage(`Waiting for ${waiting} other sandboxes to start first (the room is arriving)…`);
    // The turn covers the spawns (bwrap, then setup.sh's), not the wait for a long setup to finish.
    const { sandbox, settingUp } = await this.startTurn(async () => {
      // Back to the event loop first, one start per turn of it (loop-turns.ts): a room's hellos
      // arrive in one poll phase, and their starts would otherwise run back to back, every
      // keystroke waiting for all of them (150 pooled takes once ran 155 ms in one phase).
      await nextLoopTurn();
      report.stage('Creating your sandbox…');
      // Not for a restore: the pooled shell started before the replayed steps, which may change what a new shell sees.
      const pooled = attachments.length === 0 && done.length === 0 ? this.pool.take(this.lesson.slug) : undefined;
      this.startKind = done.length > 0 ? 'restore' : pooled ? 'pool' : 'new';
      let sandbox: Sandbox | undefined = pooled;
      try {
        // A pooled sandbox of another lesson gives way where the room's cap is reached.
        if (!sandbox && this.backend.size >= this.options.maxSandboxes) await this.pool.shrink();
        sandbox ??= await this.backend.create({ id: this.key, lessonDir: this.staged.stagedDir, ...this.options.profiles[this.lesson.profile], attachments });
      } catch (error) {
        log.error({ session: this.key, err: error }, 'sandbox creation failed');
        this.setStatus({ state: 'error', message: 'Your sandbox could not be started. Try again in a moment; if it persists, tell the instructor.' });
        throw new SessionError('sandbox-failed', 'the sandbox could not be started');
      }
      report.next();
      report.stage("Setting up the lesson in your sandbox…");
      // A pooled sandbox's setup ran in the pool.
      const settingUp = pooled ? Promise.resolve({ ok: true, output: '' }) : setUpLesson(sandbox, this.lesson, attachments);
      return { sandbox, settingUp };
    });
    const setup = await settingUp;
    const fail = async (message: string, detail: string) => {
      log.error({ session: this.key, detail }, message);
      await sandbox.destroy();
      this.setStatus({ state: 'error', message: `${message} Reconnect to try again.` });
      throw new SessionError('sandbox-failed', message);
    };
    if (!setup.ok) await fail('The lesson setup failed in your sandbox.', setup.output);
    report.next();
    const replayed = await replaySolves(sandbox, done, (step, index) => {
      if (index > 0) report.next();
      report.stage(`Replaying the steps you completed (${index + 1} of ${done.length}): ${step.title}…`);
    });
    if (!replayed.ok) await fail(`Replaying step "${replayed.step.title}" failed.`, replayed.output);
    if (done.length > 0) report.next();
    if (this.closed) {
      await sandbox.destroy();
      throw new SessionError('sandbox-failed', 'the session was closed while starting');
    }
    this.sandbox = sandbox;
    sandbox.onExit((reason) => this.sandboxDied(sandbox, reason));
    this.setStatus({
      state: 'ready',
      ...(done.length > 0
        ? { message: `Your sandbox was re-created; completed steps were replayed: ${done.map((s) => s.title).join(', ')}.`, restoredSteps: done.map((s) => s.id) }
        : {}),
    });
    return sandbox;
  }

  /** The lesson's shared services for this sandbox; their progress is the attendee's status line. */
  private async attachServices(report: StartReport): Promise<SandboxAttachment[]> {
    if (this.lesson.services.length === 0) return [];
    const { services } = this.options;
    try {
      if (!services) throw new Error('this server runs no shared services');
      const attachments = await services.attach(this.lesson, this.attendee, (message, within) => report.stage(message, within));
      report.next();
      return attachments;
    } catch (error) {
      log.error({ session: this.key, err: error }, 'shared services failed');
      const message = `The lesson's shared services (${this.lesson.services.join(', ')}) are not available: ${(error as Error).message}. Reconnect to try again; if it persists, tell the instructor.`;
      this.setStatus({ state: 'error', message });
      throw new SessionError('sandbox-failed', message);
    }
  }

  private sandboxDied(sandbox: Sandbox, reason: string): void {
    if (this.sandbox !== sandbox) return;
    this.sandbox = undefined;
    for (const terminal of this.terminals.values()) terminal.kill();
    this.terminals.clear();
    if (!this.closed) {
      log.warn({ session: this.key, reason }, 'sandbox died');
      this.setStatus({ state: 'error', message: 'Your sandbox stopped. Reconnect to get a fresh one: completed steps will be replayed.' });
    }
  }

  /** The terminal with this id, started on first use (and again after its shell exited). */
  async terminal(id: string, cols: number, rows: number): Promise<Terminal> {
    const spec = this.lesson.terminals.find((t) => t.id === id);
    if (!spec) throw new SessionError('unknown-terminal', `lesson "${this.lesson.slug}" has no terminal "${id}"`);
    const sandbox = await this.ensureSandbox();
    const existing = this.terminals.get(id);
    if (existing && !existing.exited) return existing;
    const terminal = new Terminal(id, sandbox.spawnPty({ cols, rows }), this.options.scrollbackBytes, { cols, rows });
    this.terminals.set(id, terminal);
    terminal.onExit(() => {
      if (this.terminals.get(id) === terminal) this.terminals.delete(id);
    });
    if (spec.command) {
      // Typed once the shell has printed its prompt, so that it shows after the prompt, as if typed
      // by hand; a shell that prints nothing still gets it after a moment.
      const command = new TextEncoder().encode(`${spec.command}\r`);
      terminal.typeFirst(command, Promise.race([terminal.started, new Promise((resolve) => setTimeout(resolve, 2000))]));
    }
    return terminal;
  }

  /** A terminal of this session that is open now (no start): what an instructor may shadow. */
  openTerminal(id: string): Terminal | undefined {
    const terminal = this.terminals.get(id);
    return terminal && !terminal.exited && this.sandbox?.alive ? terminal : undefined;
  }

  check(stepId: string, answer: string | undefined): Promise<CheckResultPayload> {
    return this.enqueue(async () => {
      const step = this.step(stepId);
      // A quiz is graded here, on the server: it needs no sandbox.
      const outcome = step.kind === 'quiz' ? gradeQuiz(step, answer) : await runCheck(await this.readySandbox(), step, answer);
      return await this.finish(step, outcome.passed, false, outcome.feedback, outcome.durationMs);
    });
  }

  /** An author's "Re-run setup" (authoring mode): files/ and setup.sh again, in the running sandbox. */
  rerunSetup(): Promise<{ ok: boolean; output: string }> {
    return this.enqueue(async () => setUpLesson(await this.readySandbox(), this.lesson, []));
  }

  /** "Solve it for me": runs solve.sh, then the real check; a pass counts as passed with help. */
  solve(stepId: string): Promise<CheckResultPayload> {
    return this.enqueue(async () => {
      const step = this.step(stepId);
      // A quiz has no "Solve it for me": its solve would hand over the correct options.
      if (step.kind === 'quiz') throw new SessionError('unknown-step', `step "${stepId}" is a quiz: answer it and Check`);
      const sandbox = await this.readySandbox();
      const solve = await runSolve(sandbox, step);
      const outcome = await runCheck(sandbox, step, answerFrom(step, solve.output));
      const feedback = solve.ok ? outcome.feedback : `The solution script failed: ${solve.output || 'no output'}. ${outcome.feedback}`;
      const result = await this.finish(step, outcome.passed, true, feedback, solve.durationMs + outcome.durationMs);
      // What was done, shown under the step: the script as run (the staged copy) and what it printed.
      const script = await readFile(join(this.staged.stagedDir, 'steps', step.id, 'solve.sh'), 'utf8').catch(() => '');
      return { ...result, solve: { script: script.replace(/^#!.*\n/, '').trim(), output: clipEnd(solve.output, SOLVE_OUTPUT_LIMIT), ok: solve.ok } };
    });
  }

  /** Records the outcome; the attendee hears it only once it is recorded (no ✓ the store does not have). */
  private async finish(step: StepSpec, passed: boolean, solved: boolean, feedback: string, durationMs: number): Promise<CheckResultPayload> {
    await this.store.record({ attendee: this.attendee, lesson: this.lesson.slug, step: step.id, passed, solved, feedback });
    if (!solved) this.options.metrics?.checked(this.lesson.profile, passed, durationMs / 1000);
    this.options.onStepRecorded?.(this.attendee, this.lesson.slug);
    this.reads++;
    const broadcast = ++this.broadcasts;
    const progress = await this.progress();
    // A later Check's read is newer than this one, and goes to everyone: it sends its own.
    if (broadcast === this.broadcasts) for (const listener of this.listeners) listener.progress(progress);
    return { step: step.id, passed, solved: solved && passed, feedback, durationMs: Math.round(durationMs) };
  }

  private step(id: string): StepSpec {
    const step = this.lesson.steps.find((s) => s.id === id);
    if (!step) throw new SessionError('unknown-step', `lesson "${this.lesson.slug}" has no step "${id}"`);
    return step;
  }

  private async readySandbox(): Promise<Sandbox> {
    if (this.sandbox?.alive) return this.sandbox;
    if (this.starting) return this.starting;
    throw new SessionError('not-ready', 'the sandbox is not running: reconnect to start it');
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private setStatus(status: StatusPayload): void {
    this.lastStatus = status;
    this.lastStatusAt = performance.now();
    for (const listener of this.listeners) listener.status(status);
  }

  private currentStatus(): StatusPayload {
    const { elapsedMs } = this.lastStatus;
    return elapsedMs === undefined ? this.lastStatus : { ...this.lastStatus, elapsedMs: Math.round(elapsedMs + performance.now() - this.lastStatusAt) };
  }

  private scheduleIdle(): void {
    this.cancelIdle();
    this.idleTimer = setTimeout(() => {
      log.info({ session: this.key }, 'idle: destroying sandbox');
      void this.close();
    }, this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** How the attendee's list of sandboxes shows it (GET /api/sandboxes). */
  summary(): SandboxSummary {
    const detachedForMs = this.listeners.size === 0 ? Math.round(this.detachedForMs) : undefined;
    return {
      lesson: this.lesson.slug,
      title: this.lesson.title,
      state: this.sandbox?.alive ? 'ready' : this.lastStatus.state === 'restoring' ? 'restoring' : 'starting',
      attached: this.listeners.size > 0,
      ...(detachedForMs !== undefined ? { detachedForMs, detachedSince: new Date(Date.now() - detachedForMs).toISOString() } : {}),
    };
  }

  /**
   * Stopped by its attendee (from their list of sandboxes): like close(), and the terminals still
   * attached are told why once their shells' exits have reached them, so that the reason is the
   * last word they hear, not "the shell exited". Progress stays; reconnecting restores.
   */
  async stop(message: string): Promise<void> {
    const exits = [...this.terminals.values()].map((terminal) => new Promise<void>((resolve) => terminal.onExit(() => resolve())));
    await this.close();
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    this.setStatus({ state: 'error', message });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelIdle();
    this.onClosed(this);
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    for (const terminal of this.terminals.values()) terminal.kill();
    this.terminals.clear();
    await this.starting?.catch(() => undefined);
    await sandbox?.destroy();
  }
}

export class SessionManager {
  private readonly sessions = new Map<string, LessonSession>();
  /**
   * Creating a sandbox and starting its setup costs the machine CPU (the spawner forks, bwrap builds
   * namespaces, setup.sh runs). Unbounded, a room arriving at once ran hundreds of starts side by
   * side and everyone's keystrokes waited for the CPU; a few at a time keep the machine as busy
   * while terminals stay responsive in between (docs/benchmarks.md).
   */
  private readonly startTurn: LimitFunction;

  constructor(
    private readonly lessons: Map<string, StagedLesson>,
    private readonly backend: SandboxBackend,
    private readonly store: ProgressStore,
    private readonly options: SessionOptions,
  ) {
    this.startTurn = pLimit(options.maxConcurrentStarts);
    this.pool = new SandboxPool(backend, lessons, { size: options.poolSize ?? 0, lessons: options.poolLessons, profiles: options.profiles, maxSandboxes: options.maxSandboxes, startTurn: this.startTurn, memoryReserveBytes: options.poolMemoryReserveBytes });
    this.pool.refill();
  }

  /** Sandboxes made in advance (sandbox-pool.ts). */
  readonly pool: SandboxPool;

  lesson(slug: string): StagedLesson | undefined {
    return this.lessons.get(slug);
  }

  session(attendee: string, slug: string, address?: string): LessonSession {
    const staged = this.lessons.get(slug);
    if (!staged) throw new SessionError('unknown-lesson', `there is no lesson "${slug}"`);
    const key = `${attendee}/${slug}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = new LessonSession(
        key,
        attendee,
        staged,
        this.backend,
        this.store,
        this.options,
        (s) => {
          if (this.sessions.get(s.key) === s) this.sessions.delete(s.key);
        },
        (s) => this.capacityFor(s),
        this.startTurn,
        this.pool,
      );
      this.sessions.set(key, session);
    }
    if (address) session.address = address;
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Sandboxes one attendee may hold at once. */
  get attendeeLimit(): number {
    return this.options.maxSandboxesPerAttendee;
  }

  /** The session of this attendee and lesson if there is one (none is started). */
  existing(attendee: string, slug: string): LessonSession | undefined {
    return this.sessions.get(`${attendee}/${slug}`);
  }

  /** The echo path's queues over every terminal, for /metrics. */
  echoQueues(): { inputBytes: number; pausedTerminals: number } {
    let inputBytes = 0;
    let pausedTerminals = 0;
    for (const session of this.sessions.values()) {
      for (const { inputBytes: bytes, outputPaused } of session.terminalQueues()) {
        inputBytes += bytes;
        if (outputPaused) pausedTerminals++;
      }
    }
    return { inputBytes, pausedTerminals };
  }

  /** Every live sandbox's lesson and profile, for /metrics. */
  liveSandboxes(): Array<{ lesson: string; profile: string }> {
    return [...this.sessions.values()].filter((s) => s.holdsSandbox).map((s) => ({ lesson: s.lesson.slug, profile: s.lesson.profile }));
  }

  /** This attendee's sessions that hold a sandbox (running or starting), in lesson order. */
  sandboxesOf(attendee: string): LessonSession[] {
    return [...this.sessions.values()]
      .filter((s) => s.attendee === attendee && s.holdsSandbox)
      .sort((x, y) => x.lesson.order - y.lesson.order || x.lesson.slug.localeCompare(y.lesson.slug));
  }

  /**
   * Stops this attendee's sandbox of this lesson, telling its attached terminals `message`;
   * false when none was held. Its progress stays: opening the lesson again restores it.
   */
  async stop(attendee: string, slug: string, message: string): Promise<boolean> {
    if (!this.lessons.has(slug)) throw new SessionError('unknown-lesson', `there is no lesson "${slug}"`);
    const session = this.sessions.get(`${attendee}/${slug}`);
    if (!session?.holdsSandbox) return false;
    // A start runs to its end (closing it meanwhile would leave its work uncounted by the caps
    // until it finished, and its page would start it again): it can be stopped once it runs.
    if (!session.running) throw new SessionError('busy', 'it is still starting: stop it once it is running');
    log.info({ session: session.key }, 'stopped by its attendee');
    await session.stop(message);
    return true;
  }

  /**
   * "Reset lesson": stops this attendee's sandbox of the lesson (its terminals are told
   * `message`) and forgets their progress in it, so the next start is a fresh sandbox with nothing
   * replayed. A sandbox still starting is left to finish first ('busy'), as for stop().
   */
  async reset(attendee: string, slug: string, message: string): Promise<void> {
    if (!this.lessons.has(slug)) throw new SessionError('unknown-lesson', `there is no lesson "${slug}"`);
    const session = this.sessions.get(`${attendee}/${slug}`);
    if (session?.holdsSandbox && !session.running) throw new SessionError('busy', 'it is still starting: reset it once it is running');
    // Forgotten first: a reconnect while the old sandbox stops must not replay what is being reset.
    await this.store.resetLesson(attendee, slug);
    await this.stop(attendee, slug, message);
    this.options.onStepRecorded?.(attendee, slug);
  }

  /**
   * Room for one more sandbox under each cap (per attendee, in all, per client address). Where a
   * cap is reached, the sandbox in its scope that has been without a terminal longest is stopped
   * (its progress stays; opening its lesson again restores it), so only sandboxes in use hold a
   * place: a closed tab never locks its attendee, its network or the room out.
   */
  private async capacityFor(starting: LessonSession): Promise<string | undefined> {
    const o = this.options;
    const scopes: Array<{ cap: number; within: (s: LessonSession) => boolean; full: (held: LessonSession[]) => string }> = [
      {
        cap: o.maxSandboxesPerAttendee,
        within: (s) => s.attendee === starting.attendee,
        full: (held) => `You already have ${held.length} ${held.length === 1 ? 'sandbox' : 'sandboxes'} in use (${held.map((s) => s.lesson.slug).join(', ')}); the limit is ${o.maxSandboxesPerAttendee}. Stop one below, or close one of those lessons' tabs.`,
      },
      {
        cap: o.maxSandboxes,
        within: () => true,
        full: () => `The workshop is full: all ${o.maxSandboxes} sandboxes are in use. Try again in a few minutes, or ask the instructor.`,
      },
      {
        cap: o.maxSandboxesPerAddress,
        within: (s) => s.address === starting.address,
        full: (held) => {
          log.warn({ address: starting.address, sandboxes: held.length, cap: o.maxSandboxesPerAddress }, 'one client address holds its whole share of the sandboxes');
          return `Your network already uses ${held.length} sandboxes, the most one network may hold on this server. Ask the instructor.`;
        },
      },
    ];
    for (const scope of scopes) {
      for (;;) {
        const held = [...this.sessions.values()].filter((s) => s !== starting && s.holdsSandbox && scope.within(s));
        if (held.length < scope.cap) break;
        const idlest = held.filter((s) => s.reclaimable).sort((x, y) => y.detachedForMs - x.detachedForMs)[0];
        if (!idlest) return scope.full(held);
        log.info({ session: idlest.key, detachedForMs: Math.round(idlest.detachedForMs) }, 'stopping an unused sandbox to make room');
        await idlest.close();
      }
    }
    return undefined;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
    await this.pool.close();
  }
}
