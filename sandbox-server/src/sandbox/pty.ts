/**
 * A terminal whose program the spawner started: the server opens the pty (openpty, no fork: through
 * node-pty's native binding) and keeps the master; the spawner's child opens the slave by its path,
 * makes it its controlling terminal and execs the shell. The server's event loop never forks.
 */
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import tty from 'node:tty';
import type { SpawnedProcess, SpawnExit } from './spawner.ts';

interface NativePty {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

const require = createRequire(import.meta.url);
const native = (require('node-pty/lib/utils') as { loadNativeModule(name: string): { module: NativePty } }).loadNativeModule('pty').module;

/** How long the output may still arrive after the program ended (its last bytes are in the pty). */
const DRAIN_MS = 200;

/** Output kept while nobody listens yet (a pooled sandbox's shell, started before its attendee came). */
const EARLY_OUTPUT_LIMIT = 64 * 1024;

/** What runs in the pty: the spawner's process, or a test backend's (sandbox/memory.ts). */
export type PtyProgram = Pick<SpawnedProcess, 'started' | 'exited' | 'kill'>;

export interface PtyExit {
  exitCode: number;
  signal?: number;
}

export class Pty {
  /** The slave's path, for the spawner's child to open. */
  readonly path: string;
  /** The master: read through `stream`, written by PtyInput while `open`. */
  readonly fd: number;
  private slave: number | undefined;
  private readonly stream: tty.ReadStream;
  private process: PtyProgram | undefined;
  private readonly dataListeners: Array<(data: Buffer) => void> = [];
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly exitListeners: Array<(exit: PtyExit) => void> = [];

  constructor(cols: number, rows: number) {
    const opened = native.open(cols, rows);
    this.fd = opened.master;
    this.slave = opened.slave;
    this.path = opened.pty;
    this.stream = new tty.ReadStream(this.fd);
    this.stream.on('data', (data: Buffer) => {
      if (this.dataListeners.length === 0 && this.earlyBytes < EARLY_OUTPUT_LIMIT) {
        this.early.push(data);
        this.earlyBytes += data.length;
      }
      for (const listener of this.dataListeners) listener(data);
    });
    // EIO: every slave descriptor is closed (the shell and whatever it started are gone).
    this.stream.on('error', () => this.stream.destroy());
  }

  /** The program in it; the server's copy of the slave is closed once the program has its own. */
  run(process: PtyProgram): void {
    this.process = process;
    process.started.then(
      () => this.closeSlave(),
      () => undefined,
    );
    process.exited.then((exit) => this.ended(exit));
  }

  /** True while the master is still open: after that its fd number may be anything else's. */
  get open(): boolean {
    return !this.stream.destroyed;
  }

  /** The first listener also gets what came before it (a shell's prompt, printed before anyone listened). */
  onData(listener: (data: Buffer) => void): void {
    this.dataListeners.push(listener);
    for (const data of this.early.splice(0)) listener(data);
    this.earlyBytes = 0;
  }

  onExit(listener: (exit: PtyExit) => void): void {
    this.exitListeners.push(listener);
  }

  /** The kernel signals the shell (SIGWINCH) only when the size changes: a repeated size costs one ioctl. */
  resize(cols: number, rows: number): void {
    if (this.open) native.resize(this.fd, cols, rows);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  kill(signal: NodeJS.Signals = 'SIGHUP'): void {
    this.process?.kill(signal);
  }

  /** Closes the master without waiting for the program (which then reads EOF/EIO and gets SIGHUP). */
  destroy(): void {
    this.closeSlave();
    this.stream.destroy();
  }

  private closeSlave(): void {
    if (this.slave === undefined) return;
    closeSync(this.slave);
    this.slave = undefined;
  }

  private ended(exit: SpawnExit): void {
    this.closeSlave();
    let reported = false;
    const done = () => {
      if (reported) return;
      reported = true;
      clearTimeout(timer);
      this.stream.destroy();
      const payload: PtyExit = { exitCode: exit.code ?? 0, ...(exit.signal ? { signal: constants.signals[exit.signal] } : {}) };
      for (const listener of this.exitListeners.splice(0)) listener(payload);
    };
    // The last output is still in the pty: read it until EIO (or a background process holds the
    // slave open: then stop after a moment, as node-pty does).
    const timer = setTimeout(done, DRAIN_MS);
    if (this.stream.destroyed) done();
    else this.stream.once('close', done);
  }
}
