/**
 * The server's side of the spawner (native/spawner.c): the one small process that forks every
 * process of every sandbox, so that the server's event loop never waits for a fork (a fork copies
 * the page tables of the process that forks, and the server grows with every session; docs/
 * decisions.md §23). The spawner is started once, when the server is small; requests and events
 * travel over its stdin/stdout, a socket pair, as frames of NUL-separated strings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { log } from '../log.ts';

export interface SpawnRequest {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Drop to this uid (and gid), with no supplementary groups. */
  uid?: number;
  /** cgroup.procs files to join before anything else. */
  cgroups?: readonly string[];
  /** Join the user, mount, uts, ipc, net, pid and cgroup namespaces of this process. */
  namespacesOf?: number;
  /** Take the mount namespace from this process instead (the checker's view). */
  mountsOf?: number;
  /** A copy of the mount namespace of its own: what the program mounts stays in it. */
  privateMounts?: boolean;
  /** Bind each path onto itself read-only, as host root, in a mount namespace of its own. */
  lockReadOnly?: readonly string[];
  seccomp?: boolean;
  /** The pty slave (/dev/pts/N) to make the program's controlling terminal and stdio. */
  pty?: string;
  /** Also give the program its output pipe as fd 3 (bwrap's --info-fd). */
  infoFd?: boolean;
  /** 'collect' (default without pty): the output comes with the exit, capped; 'stream': as it comes. */
  output?: 'collect' | 'stream' | 'none';
  limitBytes?: number;
  /** SIGTERM after this long, SIGKILL `killAfterMs` later. */
  timeoutMs?: number;
  killAfterMs?: number;
}

export interface ViewRequest {
  namespacesOf: number;
  uid: number;
  cgroups?: readonly string[];
  /** Directories whose later mounts the view follows. */
  share: readonly string[];
}

export interface SpawnExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Why the program never ran (empty when it did). */
  error: string;
  output: Buffer;
}

/** One process the spawner started: its pid once it runs, its output, its end. */
export class SpawnedProcess extends EventEmitter<{ started: [number]; output: [Buffer]; exit: [SpawnExit] }> {
  pid: number | undefined;
  ended: SpawnExit | undefined;
  /** Resolves with the program's pid once exec'd; rejects with the reason if it never runs. */
  readonly started: Promise<number>;
  /** Resolves when it has ended. */
  readonly exited: Promise<SpawnExit>;

  constructor(
    readonly id: string,
    private readonly spawner: Spawner,
  ) {
    super();
    this.started = new Promise((resolve, reject) => {
      this.once('started', resolve);
      this.once('exit', (exit) => reject(new Error(exit.error || `exited with ${exit.code ?? exit.signal} before it started`)));
    });
    this.started.catch(() => undefined);
    this.exited = new Promise((resolve) => this.once('exit', resolve));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.ended) this.spawner.kill(this.id, signal);
  }
}

const signalNames = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

export class Spawner {
  private child: ChildProcess | undefined;
  private readonly processes = new Map<string, SpawnedProcess>();
  private nextId = 1;
  private pending: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private closing = false;

  constructor(private readonly binary: string) {}

  /** The spawner's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the spawner process now (else on first use): while the server is still small. */
  start(): void {
    if (this.child) return;
    this.closing = false;
    const child = spawn(this.binary, [String(process.pid)], { stdio: ['pipe', 'pipe', 'inherit'], env: {} });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => this.received(chunk));
    child.stdin!.on('error', () => undefined); // its exit says what happened
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.pending = Buffer.alloc(0);
      if (!this.closing) log.error({ code, signal }, 'the spawner exited: its processes are gone; the next start begins a new one');
      // Everything it started has lost its parent and dies with it: bwrap (--die-with-parent) and so
      // every process in its sandbox, and the checkers' views (a parent-death signal of their own).
      for (const process of this.processes.values()) this.ended(process, { code: null, signal: 'SIGKILL', timedOut: false, error: 'the spawner exited', output: Buffer.alloc(0) });
      this.processes.clear();
    });
  }

  run(request: SpawnRequest): SpawnedProcess {
    const fields = ['run', ...request.argv.map((arg) => `arg=${arg}`), ...Object.entries(request.env).map(([k, v]) => `env=${k}=${v}`)];
    if (request.cwd) fields.push(`cwd=${request.cwd}`);
    if (request.uid !== undefined) fields.push(`uid=${request.uid}`);
    for (const file of request.cgroups ?? []) fields.push(`cgroup=${file}`);
    if (request.namespacesOf !== undefined) fields.push(`ns=${request.namespacesOf}`);
    if (request.mountsOf !== undefined) fields.push(`mnt=${request.mountsOf}`);
    if (request.privateMounts) fields.push('private-mounts=1');
    for (const path of request.lockReadOnly ?? []) fields.push(`lock-ro=${path}`);
    if (request.seccomp) fields.push('seccomp=1');
    if (request.pty) fields.push(`pty=${request.pty}`);
    if (request.infoFd) fields.push('info-fd=3');
    if (request.output) fields.push(`output=${request.output}`);
    if (request.limitBytes !== undefined) fields.push(`limit=${request.limitBytes}`);
    if (request.timeoutMs !== undefined) fields.push(`timeout=${Math.ceil(request.timeoutMs)}`);
    if (request.killAfterMs !== undefined) fields.push(`kill-after=${Math.ceil(request.killAfterMs)}`);
    return this.send(fields);
  }

  /** The checker's view of a sandbox: a process holding it, running until killed. */
  view(request: ViewRequest): SpawnedProcess {
    return this.send(['view', `ns=${request.namespacesOf}`, `uid=${request.uid}`, 'seccomp=1', ...(request.cgroups ?? []).map((f) => `cgroup=${f}`), ...request.share.map((d) => `share=${d}`)]);
  }

  kill(id: string, signal: NodeJS.Signals): void {
    this.write([id, 'kill', String(constants.signals[signal])]);
  }

  /** Stops the spawner; what it started dies with it. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.closing = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await exited;
  }

  private send(fields: string[]): SpawnedProcess {
    for (const field of fields) if (field.includes('\0')) throw new Error('a spawn request cannot carry NUL bytes');
    const id = String(this.nextId++);
    const process = new SpawnedProcess(id, this);
    this.processes.set(id, process);
    this.start();
    this.write([id, ...fields]);
    return process;
  }

  private write(fields: string[]): void {
    const body = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    body.copy(frame, 4);
    this.child?.stdin!.write(frame);
  }

  private received(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + length) break;
      const frame = this.pending.subarray(4, 4 + length);
      this.pending = this.pending.subarray(4 + length);
      this.event(frame);
    }
  }

  /** One event: `<id> started <pid>`, `<id> out <bytes>` or `<id> exit <code> <signal> <timed-out> <error> <bytes>`. */
  private event(frame: Buffer): void {
    const strings = (count: number): [string[], Buffer] => {
      const out: string[] = [];
      let at = 0;
      for (let i = 0; i < count; i++) {
        const end = frame.indexOf(0, at);
        out.push(frame.toString('utf8', at, end));
        at = end + 1;
      }
      return [out, frame.subarray(at)];
    };
    const [[id, kind]] = strings(2);
    const process = this.processes.get(id!);
    if (!process) return;
    if (kind === 'started') {
      process.pid = Number(strings(3)[0][2]);
      process.emit('started', process.pid);
    } else if (kind === 'out') {
      process.emit('output', Buffer.from(strings(2)[1]));
    } else if (kind === 'exit') {
      const [[, , code, signal, timedOut, error], output] = strings(6);
      this.processes.delete(id!);
      const signalName = signalNames.get(Number(signal)) ?? null;
      this.ended(process, { code: signalName ? null : Number(code), signal: signalName, timedOut: timedOut === '1', error: error!, output: Buffer.from(output) });
    }
  }

  private ended(process: SpawnedProcess, exit: SpawnExit): void {
    process.ended = exit;
    process.emit('exit', exit);
  }
}
