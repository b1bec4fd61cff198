/**
 * A sandbox backend for the session core's unit tests, without root: no namespaces, uids, cgroups
 * or bwrap. A sandbox is an object whose `exec` answers from a script the test gives (the "world":
 * which checks pass, what a solve prints) and records every command; its terminals are real ptys
 * running `sh` as the test's own user, so that Terminal, scrollback and reattach work as they do.
 * Tests only: it isolates nothing and is never what a server serves.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { SpawnExit } from './spawner.ts';
import { Pty } from './pty.ts';
import type { ExecOptions, ExecResult, PtyOptions, Sandbox, SandboxBackend, SandboxRequest } from './backend.ts';

/** How the test's world answers a command run in a sandbox (check.sh, solve.sh, setup). */
export type MemoryWorld = (sandbox: MemorySandbox, argv: string[], options: ExecOptions) => { code: number; output: string } | Promise<{ code: number; output: string }>;

export class MemorySandbox implements Sandbox {
  alive = true;
  /** Every command run in it, in order (argv joined by spaces). */
  readonly commands: string[] = [];
  private readonly exitListeners: Array<(reason: string) => void> = [];
  private readonly ptys = new Set<Pty>();

  constructor(
    readonly id: string,
    readonly uid: number,
    readonly request: SandboxRequest,
    private readonly world: MemoryWorld,
    private readonly gone: (sandbox: MemorySandbox) => void,
  ) {}

  spawnPty(options: PtyOptions): Pty {
    const pty = new Pty(options.cols, options.rows);
    const slave = openSync(pty.path, 'r+');
    const [command, ...args] = options.argv ?? ['sh', '-i'];
    // setsid -c: a session of its own with the pty as controlling terminal, as the spawner does.
    const child = spawn('setsid', ['-c', command!, ...args], { stdio: [slave, slave, slave], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PS1: '$ ', HOME: '/tmp' } });
    closeSync(slave);
    const exited = new Promise<SpawnExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, timedOut: false, error: '', output: Buffer.alloc(0) })));
    const started = new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', reject);
    });
    started.catch(() => undefined);
    pty.run({ started, exited, kill: (signal = 'SIGKILL') => void child.kill(signal) });
    this.ptys.add(pty);
    pty.onExit(() => this.ptys.delete(pty));
    return pty;
  }

  prepareShell(): void {}

  async exec(argv: string[], options: ExecOptions): Promise<ExecResult> {
    if (!this.alive) return { code: null, output: 'the sandbox is gone', timedOut: false, durationMs: 0 };
    this.commands.push(argv.join(' '));
    const { code, output } = await this.world(this, argv, options);
    return { code, output, timedOut: false, durationMs: 0 };
  }

  /** Ends it as a crash would (the test's "kill -9"): its terminals die, its listeners hear why. */
  crash(reason = 'killed'): void {
    this.end(reason);
  }

  async destroy(): Promise<void> {
    this.end('destroyed');
  }

  onExit(listener: (reason: string) => void): void {
    this.exitListeners.push(listener);
  }

  stats(): undefined {
    return undefined;
  }

  private end(reason: string): void {
    if (!this.alive) return;
    this.alive = false;
    for (const pty of this.ptys) {
      pty.kill('SIGKILL');
      pty.destroy();
    }
    this.gone(this);
    for (const listener of this.exitListeners.splice(0)) listener(reason);
  }
}

export class MemoryBackend implements SandboxBackend {
  /** Every sandbox created, alive or not, in order. */
  readonly created: MemorySandbox[] = [];
  private readonly live = new Set<MemorySandbox>();
  private nextUid = 0;

  constructor(private readonly world: MemoryWorld = () => ({ code: 0, output: '' })) {}

  async create(request: SandboxRequest): Promise<MemorySandbox> {
    const sandbox = new MemorySandbox(request.id, ++this.nextUid, request, this.world, (s) => this.live.delete(s));
    this.created.push(sandbox);
    this.live.add(sandbox);
    return sandbox;
  }

  async cleanupOrphans(): Promise<number> {
    return 0;
  }

  get size(): number {
    return this.live.size;
  }
}
