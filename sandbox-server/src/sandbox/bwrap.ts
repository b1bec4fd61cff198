/**
 * The bubblewrap backend.
 *
 * A sandbox is one long-lived `bwrap` whose namespaces (user, pid, net, ipc, uts, cgroup, mount)
 * everything else joins: the terminals' shells, check.sh and solve.sh. bwrap runs as a leased
 * unprivileged host uid, mapped to root inside its user namespace, so the attendee is root in the
 * sandbox and nobody on the host. Every process of it is started by the spawner (spawner.ts), which
 * joins the sandbox's cgroups, drops to its uid, joins its namespaces and installs the seccomp
 * filter before the one exec: the server itself never forks.
 *
 * Shells are not started in a new session of the spawner's: each is the session leader of its own
 * pty, which is its controlling terminal, so Ctrl-C, Ctrl-Z and job control work. The pty is the
 * sandbox's own, so no host process reads it.
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { log } from '../log.ts';
import type { ExecOptions, ExecResult, PtyOptions, Sandbox, SandboxBackend, SandboxDevice, SandboxRequest, TmpfsBytes } from './backend.ts';
import type { Cgroups, SandboxStats } from './cgroups.ts';
import { killProcessesWhere, killQuietly, killUntilGone, processesWhere, retryUntilDone, waitUntilGone } from './procfs.ts';
import { Pty } from './pty.ts';
import { Spawner, type SpawnedProcess, type SpawnRequest } from './spawner.ts';
import { TURN_SOCKET_IN_SANDBOX, TurnSocket } from './turn-socket.ts';
import type { TurnQueue } from './turn-queue.ts';
import { UidPool } from './uid-pool.ts';

export interface BwrapOptions {
  uidBase: number;
  uidCount: number;
  /** Platform files: bashrc and bin/ (sudo, su shims), mounted read-only under /opt/opslab. */
  platformDir: string;
  /** Sizes of the private tmpfs mounts, in bytes. */
  tmpfsBytes: TmpfsBytes;
  /** The spawner's binary (native/spawner.c): it starts every process of every sandbox. */
  spawner: string;
  /** A sandbox's pid 1 (native/sandbox-init.c), staged where the sandbox's uid can reach it; bound read-only at SANDBOX_INIT. */
  init: string;
  /** Resource limits; undefined only with the development flag (no limits at all). */
  cgroups: Cgroups | undefined;
  startTimeoutMs?: number;
  /** The machine's turn queue, and where the sandboxes' sockets to it live on the host. */
  turns?: { queue: TurnQueue; socketDir: string };
}

const MiB = 1024 * 1024;
export const defaultTmpfsBytes: TmpfsBytes = { tmp: 256 * MiB, run: 16 * MiB, var: 256 * MiB, home: 128 * MiB };

/** Output kept from one exec: feedback is meant to be short; anything longer is cut, not buffered. */
const EXEC_OUTPUT_LIMIT = 64 * 1024;

/** The sandbox's places for the attendee's state: tmpfs mounts of its own, writable. */
const STATE_DIRS = ['/tmp', '/var', '/run', '/root'];

const SANDBOX_INIT = '/opt/opslab/sandbox-init';

const SANDBOX_PATH = '/opt/opslab/lesson/bin:/opt/opslab/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

export function sandboxEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: SANDBOX_PATH,
    HOME: '/root',
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    TERM: 'xterm-256color',
    ...extra,
  };
}

function bwrapArgs(request: SandboxRequest, options: BwrapOptions, turnSocket: string | undefined, binds: Array<{ source: string; target: string }>): string[] {
  const t = { ...options.tmpfsBytes, ...request.tmpfsBytes };
  return [
    '--unshare-all', // user, pid, net, ipc, uts, cgroup (and mount): net leaves only a loopback
    '--die-with-parent',
    '--uid', '0',
    '--gid', '0',
    '--hostname', 'opslab',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/sbin', '/sbin',
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    '--ro-bind', '/etc', '/etc',
    '--proc', '/proc',
    '--dev', '/dev',
    ...(request.devices ?? []).flatMap((device) => ['--dev-bind', device, device]),
    '--size', String(t.tmp), '--perms', '1777', '--tmpfs', '/tmp',
    '--size', String(t.run), '--tmpfs', '/run',
    '--size', String(t.var), '--tmpfs', '/var',
    '--size', String(t.home), '--perms', '0700', '--tmpfs', '/root',
    '--dir', '/var/tmp',
    ...(turnSocket ? ['--bind', turnSocket, TURN_SOCKET_IN_SANDBOX] : []),
    ...binds.flatMap(({ source, target }) => ['--ro-bind', source, target]),
    '--ro-bind', `${options.platformDir}/bin`, '/opt/opslab/bin',
    '--ro-bind', `${options.platformDir}/bashrc`, '/opt/opslab/bashrc',
    '--ro-bind', request.lessonDir, '/opt/opslab/lesson',
    '--ro-bind', options.init, SANDBOX_INIT,
    '--chdir', '/root',
    '--setenv', 'PATH', SANDBOX_PATH,
    '--info-fd', '3',
    // The sandbox's pid 1 is its placeholder (native/sandbox-init.c), not bwrap's own reaper: it says
    // "ready" once every mount is in place, then reaps orphans — one fork and two execs fewer.
    '--as-pid-1',
    '--',
    SANDBOX_INIT,
  ];
}

/**
 * bwrap runs as the sandbox's uid: what it binds must be reachable by any uid (every folder on the
 * way searchable by others, the file readable). A checkout under a 0700 home is not, which is why
 * the platform's files are staged; said at start, not as every sandbox failing to start.
 */
export function assertReachableByAnyone(given: string): void {
  let mode: number;
  let path: string;
  try {
    path = realpathSync(given); // the folders bwrap really walks, past any symlink
    mode = statSync(path).mode;
  } catch (error) {
    throw new Error(`${given}: ${(error as Error).message}`);
  }
  if ((mode & 0o004) === 0) throw new Error(`${path} is not readable by the sandboxes' uids (mode ${(mode & 0o777).toString(8)})`);
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const { mode: dirMode } = statSync(dir);
    if ((dirMode & 0o001) === 0) throw new Error(`${path} cannot be reached by the sandboxes' uids: ${dir} is mode ${(dirMode & 0o777).toString(8)} (stage it under OPSLAB_STAGING_DIR)`);
    if (dir === dirname(dir)) break;
  }
}

/**
 * A granted device must be openable by the sandbox's unprivileged uid. Debian's udev makes
 * /dev/net/tun 0666; some machines have it 0600, which would fail deep inside a lesson instead.
 */
function assertUsableDevice(device: SandboxDevice): void {
  let mode: number;
  try {
    mode = statSync(device).mode;
  } catch {
    throw new Error(`${device} does not exist on this machine; the lesson's profile needs it`);
  }
  if ((mode & 0o006) !== 0o006) {
    throw new Error(`${device} is mode ${(mode & 0o777).toString(8)}: sandboxes cannot open it (run scripts/setup.sh, or chmod 0666 ${device} as Debian's udev rules do)`);
  }
}

export class BwrapSandbox implements Sandbox {
  private exitListeners: Array<(reason: string) => void> = [];
  private dead = false;
  private destroying: Promise<void> | undefined;
  private hasTerminal = false;
  /** The default shell, started in advance (prepareShell). */
  private preparedShell: Pty | undefined;

  constructor(
    readonly id: string,
    readonly uid: number,
    /** Host pid of the sandbox's pid-1: whose namespaces every process joins. */
    readonly initPid: number,
    private readonly bwrap: SpawnedProcess,
    /** Holds the checker's view (Spawner.view); its pid names that mount namespace. */
    private readonly checkView: SpawnedProcess,
    private readonly spawner: Spawner,
    /** What every process of this sandbox is started with: its uid, cgroups and the seccomp filter. */
    private readonly hardening: Pick<SpawnRequest, 'uid' | 'cgroups' | 'seccomp'>,
    private readonly readStats: () => SandboxStats | undefined,
    /** Gives the sandbox its full CPU weight (Cgroups.attended): called at its first terminal. */
    private readonly attended: () => void,
    private readonly cleanup: (initPid: number) => Promise<void>,
  ) {
    void bwrap.exited.then((exit) => this.died(`bwrap exited (code ${exit.code}, signal ${exit.signal})`));
    // Without its view no check can be trusted: the sandbox is lost (a restart restores it).
    void checkView.exited.then((exit) => this.died(`the checker's view exited (code ${exit.code}, signal ${exit.signal})`));
  }

  get alive(): boolean {
    return !this.dead;
  }

  spawnPty(options: PtyOptions): Pty {
    if (this.dead) throw new Error(`sandbox ${this.id} is not running`);
    if (!this.hasTerminal) {
      this.hasTerminal = true;
      this.attended();
    }
    if (options.argv === undefined && this.preparedShell) {
      const prepared = this.preparedShell;
      this.preparedShell = undefined;
      if (prepared.open) {
        prepared.resize(options.cols, options.rows);
        return prepared;
      }
    }
    return this.startPty(options);
  }

  prepareShell(): void {
    if (this.dead || this.preparedShell) return;
    this.preparedShell = this.startPty({ cols: 80, rows: 24 });
  }

  private startPty(options: PtyOptions): Pty {
    const pty = new Pty(options.cols, options.rows);
    try {
      pty.run(
        this.spawner.run({
          ...this.hardening,
          argv: options.argv ?? ['/bin/bash', '--rcfile', '/opt/opslab/bashrc', '-i'],
          env: sandboxEnv(),
          cwd: '/root',
          namespacesOf: this.initPid,
          pty: pty.path,
          output: 'none',
        }),
      );
    } catch (error) {
      pty.destroy();
      throw error;
    }
    return pty;
  }

  async exec(argv: string[], options: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    if (this.dead) return { code: null, output: 'the sandbox is not running', timedOut: false, durationMs: 0 };
    // The checker's view: the sandbox's namespaces but its mount namespace, which is the view's,
    // copied once more for this run, so that what a check mounts (ip netns add) stays in its copy.
    const view = options.checker ? { mountsOf: this.checkView.pid!, privateMounts: true } : {};
    const child = this.spawner.run({
      ...this.hardening,
      ...view,
      argv,
      env: sandboxEnv({ TERM: 'dumb', ...options.env }),
      cwd: options.cwd ?? '/root',
      namespacesOf: this.initPid,
      output: 'collect',
      limitBytes: EXEC_OUTPUT_LIMIT,
      timeoutMs: options.timeoutMs,
      killAfterMs: 2000,
    });
    const exit = await child.exited;
    const output = exit.error ? `could not run ${argv[0]}: ${exit.error}` : exit.output.toString('utf8');
    return { code: exit.code, output, timedOut: exit.timedOut, durationMs: performance.now() - started };
  }

  onExit(listener: (reason: string) => void): void {
    if (this.dead) listener('already dead');
    else this.exitListeners.push(listener);
  }

  stats(): SandboxStats | undefined {
    return this.readStats();
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.bwrap.kill('SIGKILL');
      this.checkView.kill('SIGKILL');
      this.died('destroyed');
      await this.cleaned;
    })();
    return this.destroying;
  }

  private cleaned: Promise<void> | undefined;

  private died(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    // Nothing of it may survive (processes, cgroups) before its uid goes back to the pool.
    this.cleaned = this.cleanup(this.initPid).catch((error) => log.error({ sandbox: this.id, err: error }, 'sandbox cleanup failed'));
    for (const listener of this.exitListeners.splice(0)) listener(reason);
  }
}

export class BwrapBackend implements SandboxBackend {
  private readonly pool: UidPool;
  private readonly live = new Set<BwrapSandbox>();
  private readonly spawner: Spawner;

  constructor(private readonly options: BwrapOptions) {
    for (const path of [options.platformDir, options.init]) assertReachableByAnyone(path);
    this.pool = new UidPool(options.uidBase, options.uidCount);
    this.spawner = new Spawner(options.spawner);
    this.spawner.start(); // now, while the server is small (it forks once)
  }

  /** Memory charged to the sandboxes' cgroups together (undefined without cgroups), for /metrics. */
  get chargedMemoryBytes(): number | undefined {
    return this.options.cgroups?.chargedMemoryBytes();
  }

  /** CPU seconds the sandboxes have used (a kernel count that only grows) (undefined without cpuacct), for /metrics. */
  get chargedCpuSeconds(): number | undefined {
    return this.options.cgroups?.chargedCpuSeconds();
  }

  /** Sandboxes waiting for the machine's turn (network boots' QEMU), for /metrics. */
  get turnsWaiting(): number {
    return this.options.turns?.queue.queued ?? 0;
  }

  get size(): number {
    return this.live.size;
  }

  async create(request: SandboxRequest): Promise<BwrapSandbox> {
    const uid = this.pool.lease();
    const group = `u${uid}`;
    const { cgroups, turns } = this.options;
    let turnSocket: TurnSocket | undefined;
    const attachments = request.attachments ?? [];
    const cleanup = async (initPid?: number) => {
      try {
        await turnSocket?.close();
        await Promise.all(attachments.map((attachment) => attachment.close().catch((error) => log.warn({ err: error, uid }, 'closing a sandbox attachment failed'))));
        await retryUntilDone(
          async () => {
            if (initPid !== undefined) {
              // The sandbox's pid 1 first: its death kills every process in the pid namespace, and the
              // spawner, the parent of the processes it started in there, reaps them at once. (Were their
              // parent gone, the host's init would reap them, and the dying pid 1 waits for that —
              // seconds, here — before the namespace is gone.)
              killQuietly(initPid);
              await waitUntilGone(initPid, 5_000);
            }
            // Whatever is left (the checker's view, anything in nested namespaces) is in the sandbox's
            // cgroups: kill what they list, which costs this sandbox's processes only. (A scan of /proc
            // for its uid costs every process on the machine: with hundreds of sandboxes reaped together
            // it stalled the server for seconds.) Without cgroups (development only) the uid is all there is.
            await (cgroups ? killUntilGone(() => cgroups.processes(group)) : killProcessesWhere((u) => u === uid));
            await cgroups?.remove(group);
            // A pid 1 leaves its cgroups before it has finished dying: its uid is free only once it has.
            if (initPid !== undefined && !(await waitUntilGone(initPid, 10_000))) log.warn({ uid, initPid }, 'the sandbox\'s pid 1 is still exiting');
          },
          (error, attempt) => log.warn({ uid, err: error, attempt }, 'sandbox teardown failed: trying again'),
        );
      } finally {
        this.pool.release(uid);
      }
    };
    let bwrap: SpawnedProcess | undefined;
    let checkView: SpawnedProcess | undefined;
    try {
      for (const device of request.devices ?? []) assertUsableDevice(device);
      if (request.machineTurns && turns) turnSocket = await TurnSocket.open(turns.socketDir, uid, turns.queue);
      const binds = (await Promise.all(attachments.map((attachment) => attachment.open(uid)))).flat();
      const hardening = { uid, cgroups: (await cgroups?.create(group, request.limits)) ?? [], seccomp: true };
      const timeoutMs = this.options.startTimeoutMs ?? 10_000;
      bwrap = this.spawner.run({
        ...hardening,
        argv: ['bwrap', ...bwrapArgs(request, this.options, turnSocket?.path, binds)],
        env: { PATH: '/usr/bin:/bin' },
        // The platform's files, bound read-only by host root first: their read-only flag is locked in the sandbox.
        lockReadOnly: ['/usr', '/etc', `${this.options.platformDir}/bin`, `${this.options.platformDir}/bashrc`, request.lessonDir, this.options.init],
        infoFd: true,
        output: 'stream',
      });
      const initPid = await waitUntilReady(bwrap, timeoutMs);
      // The checker's view of the sandbox, made before anything runs in it and held outside its pid
      // namespace, so no attendee process can see, enter or signal it (docs/decisions.md §20). It
      // copies the sandbox's mounts as bwrap built them, the platform's private (nothing mounted
      // over them later reaches the copy), the state directories shared first and slaves in the
      // copy (what is mounted under them later does). The files are the attendee's own.
      checkView = this.spawner.view({ namespacesOf: initPid, uid, cgroups: hardening.cgroups, share: STATE_DIRS });
      await withTimeout(checkView.started, timeoutMs, "the checker's view");
      const sandbox = new BwrapSandbox(request.id, uid, initPid, bwrap, checkView, this.spawner, hardening, () => cgroups?.stats(group), () => void cgroups?.attended(group, request.limits).catch((error) => log.warn({ uid, err: error }, 'raising the sandbox\'s CPU weight failed')), cleanup);
      this.live.add(sandbox);
      sandbox.onExit(() => this.live.delete(sandbox));
      return sandbox;
    } catch (error) {
      bwrap?.kill('SIGKILL');
      checkView?.kill('SIGKILL');
      await cleanup();
      throw error;
    }
  }

  /** Kills processes and removes cgroups that an earlier (crashed) run left in this server's range. */
  async cleanupOrphans(): Promise<number> {
    const leased = new Set([...this.live].map((s) => s.uid));
    const orphan = (uid: number) => this.pool.contains(uid) && !leased.has(uid);
    const count = processesWhere(orphan).length;
    if (count > 0) await killProcessesWhere(orphan);
    const live = new Set([...leased].map((uid) => `u${uid}`));
    for (const group of this.options.cgroups?.list() ?? []) if (!live.has(group)) await this.options.cgroups!.remove(group);
    return count;
  }

  /** The spawner's pid while it runs (operations, tests). */
  get spawnerPid(): number | undefined {
    return this.spawner.pid;
  }

  /** Uids leased now: for leak checks. */
  get leasedUids(): number {
    return this.pool.size;
  }

  /** Cgroups that exist now: for leak checks. */
  cgroupNames(): string[] {
    return this.options.cgroups?.list() ?? [];
  }

  async destroyAll(): Promise<void> {
    await Promise.all([...this.live].map((s) => s.destroy()));
    await this.spawner.close();
    await this.options.cgroups?.dispose();
  }
}

/**
 * Resolves once the sandbox's init said "ready", with the pid bwrap reported on its info fd (the
 * sandbox's pid 1). Both come through the one output pipe.
 */
function waitUntilReady(bwrap: SpawnedProcess, timeoutMs: number): Promise<number> {
  let output = '';
  const ready = new Promise<number>((resolve, reject) => {
    const listener = (chunk: Buffer) => {
      if (output.length >= 65_536) return;
      output += chunk.toString();
      const pid = /"child-pid":\s*(\d+)/.exec(output);
      if (pid && output.includes('ready\n')) {
        bwrap.off('output', listener); // nothing after this is read
        resolve(Number(pid[1]));
      }
    };
    bwrap.on('output', listener);
    void bwrap.exited.then((exit) => reject(new Error(`bwrap exited with ${exit.code ?? exit.signal} before the sandbox was ready: ${exit.error || output.trim()}`)));
  });
  return withTimeout(ready, timeoutMs, 'bwrap', () => output.trim());
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string, detail = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms: ${detail()}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
