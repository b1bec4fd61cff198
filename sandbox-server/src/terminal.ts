/**
 * One terminal: a pty in a sandbox, its recent output (replayed on reattach) and the one viewer
 * attached to it. The pty is paused while the viewer asks for it (xterm.js flow control) or its
 * socket is backed up, so output is never buffered without bound; with no viewer, output only
 * feeds the bounded scrollback.
 */
import type { Pty } from './sandbox/pty.ts';
import type { ExitPayload } from '../../protocol/messages.ts';
import { PtyInput } from './pty-input.ts';

/** Input queued for a program that is not reading: as much as one paste the rate limit lets through. */
const MAX_INPUT_BACKLOG = 1024 * 1024;

export interface TerminalViewer {
  output(data: Uint8Array): void;
  exit(payload: ExitPayload): void;
  /** Another connection attached to this terminal (a second tab, or a reload racing the old socket). */
  replaced(): void;
}

/**
 * Someone looking over the attendee's shoulder (an instructor shadowing): sees what the viewer
 * sees, never holds the pty back (a watcher that cannot keep up is dropped by its connection).
 */
export interface TerminalWatcher {
  output(data: Uint8Array): void;
  exit(payload: ExitPayload): void;
  resized(cols: number, rows: number): void;
}

export type PauseReason = 'client' | 'socket';

/** Recent output as a queue of chunks, trimmed from the front to stay within `limit` bytes. */
export class Scrollback {
  private chunks: Uint8Array[] = [];
  private bytes = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Uint8Array): void {
    if (chunk.length >= this.limit) {
      this.chunks = [chunk.slice(chunk.length - this.limit)];
      this.bytes = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.limit) {
      const first = this.chunks[0]!;
      const excess = this.bytes - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.bytes -= excess;
      }
    }
  }

  snapshot(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  get size(): number {
    return this.bytes;
  }
}

export class Terminal {
  private viewer: TerminalViewer | undefined;
  private readonly watchers = new Set<TerminalWatcher>();
  /** The pty's size now: a watcher's terminal is drawn at the attendee's size. */
  size: { cols: number; rows: number };
  private readonly scrollback: Scrollback;
  private readonly pauseReasons = new Set<PauseReason>();
  private paused = false;
  private exitPayload: ExitPayload | undefined;
  private readonly exitListeners: Array<(payload: ExitPayload) => void> = [];
  private firstOutput: (() => void) | undefined;
  private readonly input: PtyInput;
  /** Resolves when the shell has printed something (its first prompt), or exited. */
  readonly started: Promise<void>;

  constructor(
    readonly id: string,
    private readonly pty: Pty,
    scrollbackBytes: number,
    size = { cols: 80, rows: 24 },
  ) {
    this.size = size;
    this.scrollback = new Scrollback(scrollbackBytes);
    this.input = new PtyInput(pty, MAX_INPUT_BACKLOG);
    this.started = new Promise((resolve) => (this.firstOutput = resolve));
    pty.onData((bytes) => {
      this.firstOutput?.();
      this.scrollback.push(bytes);
      this.viewer?.output(bytes);
      for (const watcher of this.watchers) watcher.output(bytes);
    });
    pty.onExit(({ exitCode, signal }) => {
      this.input.close();
      this.firstOutput?.();
      this.exitPayload = { code: exitCode, signal: signal ?? null };
      this.viewer?.exit(this.exitPayload);
      for (const watcher of this.watchers) watcher.exit(this.exitPayload);
      for (const listener of this.exitListeners.splice(0)) listener(this.exitPayload);
    });
  }

  /** The echo path's queues (/metrics): keystrokes the program has not read yet; output held for a slow browser. */
  get queues(): { inputBytes: number; outputPaused: boolean } {
    return { inputBytes: this.input.backlog, outputPaused: this.paused };
  }

  get exited(): boolean {
    return this.exitPayload !== undefined;
  }

  get attached(): boolean {
    return this.viewer !== undefined;
  }

  /** Attaches a viewer, replacing any other, and replays the scrollback to it. */
  attach(viewer: TerminalViewer): void {
    if (this.viewer && this.viewer !== viewer) this.viewer.replaced();
    this.viewer = viewer;
    this.pauseReasons.clear();
    this.applyPause();
    const replay = this.scrollback.snapshot();
    if (replay.length > 0) viewer.output(replay);
    if (this.exitPayload) viewer.exit(this.exitPayload);
  }

  detach(viewer: TerminalViewer): void {
    if (this.viewer !== viewer) return;
    this.viewer = undefined;
    // Nobody watches: let the shell run on; its output only refreshes the bounded scrollback.
    this.pauseReasons.clear();
    this.applyPause();
  }

  /** False when the input was dropped: the program in the terminal has not read the last megabyte. */
  write(data: Uint8Array): boolean {
    if (this.exited) return true;
    if (this.held) {
      if (this.heldBytes + data.length > MAX_INPUT_BACKLOG) return false;
      this.held.push(data);
      this.heldBytes += data.length;
      return true;
    }
    return this.input.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  /** Input written while the terminal's own command waits to be typed: it follows the command. */
  private held: Uint8Array[] | undefined;
  private heldBytes = 0;

  /**
   * Types `command` when `when` resolves, as the terminal's first input: whatever the attendee
   * typed meanwhile (typed ahead, a Run) is written after it, in order, never into the middle.
   */
  typeFirst(command: Uint8Array, when: Promise<unknown>): void {
    this.held = [];
    void when.then(() => {
      const held = this.held ?? [];
      this.held = undefined;
      this.heldBytes = 0;
      this.write(command);
      for (const data of held) this.write(data);
    });
  }

  resize(cols: number, rows: number): void {
    this.pty.resize(cols, rows); // an ioctl on the master, only while it is open
    if (cols === this.size.cols && rows === this.size.rows) return;
    this.size = { cols, rows };
    for (const watcher of this.watchers) watcher.resized(cols, rows);
  }

  /** Adds a watcher: it gets the size, the scrollback, then everything the viewer gets. Returns the way to stop. */
  watch(watcher: TerminalWatcher): () => void {
    this.watchers.add(watcher);
    watcher.resized(this.size.cols, this.size.rows);
    const replay = this.scrollback.snapshot();
    if (replay.length > 0) watcher.output(replay);
    if (this.exitPayload) watcher.exit(this.exitPayload);
    return () => this.watchers.delete(watcher);
  }

  setPaused(reason: PauseReason, paused: boolean): void {
    if (paused) this.pauseReasons.add(reason);
    else this.pauseReasons.delete(reason);
    this.applyPause();
  }

  private applyPause(): void {
    const shouldPause = this.pauseReasons.size > 0 && !this.exited;
    if (shouldPause === this.paused) return;
    this.paused = shouldPause;
    if (shouldPause) this.pty.pause();
    else this.pty.resume();
  }

  onExit(listener: (payload: ExitPayload) => void): void {
    if (this.exitPayload) listener(this.exitPayload);
    else this.exitListeners.push(listener);
  }

  kill(): void {
    if (!this.exited) this.pty.kill('SIGKILL');
  }
}
