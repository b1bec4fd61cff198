/**
 * The bubblewrap backend.
 *
 * A sandbox is one long-lived `bwrap` whose namespaces (user, pid, net, ipc, uts, cgroup, mount)
 * everything else joins with `nsenter`: the terminals' shells, check.sh and solve.sh. bwrap runs
 * as a leased unprivileged host uid, mapped to root inside its user namespace, so the attendee is
 * root in the sandbox and nobody on the host.
 *
 * Shells are NOT started with --new-session: that would take away their controlling terminal and
 * with it Ctrl-C, Ctrl-Z and job control. The pty is the sandbox's own, so no host process reads it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { spawn as spawnPty, type IPty } from 'node-pty';
import { log } from '../log.ts';
import type { ExecOptions, ExecResult, PtyOptions, Sandbox, SandboxBackend, SandboxDevice, SandboxRequest, TmpfsBytes } from './backend.ts';
import type { Cgroups, SandboxStats } from './cgroups.ts';
import { killProcessesWhere, killQuietly, killUntilGone, processesWhere, retryUntilDone, waitUntilGone } from './procfs.ts';
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
  /** sandbox-exec (native/): joins the sandbox's cgroups and installs the seccomp filter. */
  sandboxExec: string;
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
    '--chdir', '/root',
    '--setenv', 'PATH', SANDBOX_PATH,
    '--info-fd', '3',
    '--',
    // The sandbox's placeholder: it says "ready" once every mount is in place, then waits.
    '/bin/sh', '-c', 'echo ready; exec sleep infinity',
  ];
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

class BwrapSandbox implements Sandbox {
  private exitListeners: Array<(reason: string) => void> = [];
  private dead = false;
  private destroying: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly uid: number,
    /** Host pid of the sandbox's pid-1: the target of every nsenter. */
    private readonly initPid: number,
    private readonly bwrap: ChildProcess,
    /** Holds the checker's view (Launcher.checkViewArgs); its pid names that mount namespace. */
    private readonly checkView: ChildProcess,
    private readonly launcher: Launcher,
    private readonly cleanup: (initPid: number) => Promise<void>,
  ) {
    bwrap.once('exit', (code, signal) => this.died(`bwrap exited (code ${code}, signal ${signal})`));
    // Without its view no check can be trusted: the sandbox is lost (a restart restores it).
    checkView.once('exit', (code, signal) => this.died(`the checker's view exited (code ${code}, signal ${signal})`));
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Joins the sandbox's namespaces (after the launcher's cgroups, seccomp filter and uid drop). */
  private enter(argv: string[]): string[] {
    return this.launcher.args([
      'nsenter', '-t', String(this.initPid), '-U', '-m', '-u', '-i', '-n', '-p', '-C',
      '--preserve-credentials', '--root', '--wd', '--',
      ...argv,
    ]);
  }

  /**
   * Joins the sandbox's namespaces but its mount namespace: the checker's view instead, copied once
   * more for this run (unshare), so that what a check mounts (ip netns add) stays in its own copy.
   */
  private enterCheckerView(argv: string[]): string[] {
    const ns = (name: string, pid = this.initPid) => `--${name}=/proc/${pid}/ns/${name === 'mount' ? 'mnt' : name}`;
    return this.launcher.args([
      'nsenter', ns('user'), ns('mount', this.checkView.pid!), ns('uts'), ns('ipc'), ns('net'), ns('pid'), ns('cgroup'),
      '--preserve-credentials', '--',
      'unshare', '--mount', '--wd=/root', '--',
      ...argv,
    ]);
  }

  spawnPty(options: PtyOptions): IPty {
    if (this.dead) throw new Error(`sandbox ${this.id} is not running`);
    const argv = options.argv ?? ['/bin/bash', '--rcfile', '/opt/opslab/bashrc', '-i'];
    return spawnPty(this.launcher.program, this.enter(argv), {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: '/',
      env: sandboxEnv(),
      encoding: null, // raw bytes: a UTF-8 character split across reads must not be mangled
    });
  }

  async exec(argv: string[], options: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    if (this.dead) return { code: null, output: 'the sandbox is not running', timedOut: false, durationMs: 0 };
    const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
    // `timeout` inside the sandbox ends the script; the host-side timer is the backstop.
    const inner = ['timeout', '--kill-after=2', String(seconds), ...argv];
    const child = spawn(this.launcher.program, options.checker ? this.enterCheckerView(inner) : this.enter(inner), {
      env: sandboxEnv({ TERM: 'dumb', ...options.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < EXEC_OUTPUT_LIMIT) output += chunk.toString('utf8').slice(0, EXEC_OUTPUT_LIMIT - output.length);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    const backstop = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, seconds * 1000 + 5000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(backstop);
    if (code === 124 || code === 137) timedOut = true;
    return { code, output, timedOut, durationMs: performance.now() - started };
  }

  onExit(listener: (reason: string) => void): void {
    if (this.dead) listener('already dead');
    else this.exitListeners.push(listener);
  }

  stats(): SandboxStats | undefined {
    return this.launcher.stats();
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

/**
 * How every process of one sandbox is started: sandbox-exec joins the sandbox's cgroups and
 * installs the seccomp filter (as root, so it may write cgroup.procs), then setpriv drops to the
 * sandbox's uid with no supplementary groups (host root's groups must not follow it in).
 */
class Launcher {
  readonly program: string;
  private readonly cgroups: string[];
  private readonly prefix: string[];

  constructor(
    sandboxExec: string,
    private readonly uid: number,
    procsFiles: string[],
    readonly stats: () => SandboxStats | undefined,
  ) {
    this.program = sandboxExec;
    this.cgroups = procsFiles.flatMap((f) => ['--cgroup', f]);
    this.prefix = [...this.cgroups, '--', 'setpriv', '--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--'];
  }

  /**
   * The checker's view of the sandbox whose pid 1 is `initPid`, made before anything runs in it and
   * held by a process outside its pid namespace, so no attendee process can see, enter or signal it
   * (sandbox-exec --check-view; docs/decisions.md §20). It copies the sandbox's mounts as bwrap
   * built them, the platform's private (nothing mounted over them later reaches the copy), the state
   * directories shared first and slaves in the copy (what is mounted under them later does). A
   * copied mount shows the same filesystem: the files are the attendee's own.
   */
  checkViewArgs(initPid: number): string[] {
    return [...this.cgroups, '--check-view', String(initPid), '--uid', String(this.uid), ...STATE_DIRS.flatMap((dir) => ['--share', dir])];
  }

  args(command: string[], options: { keepFd?: number; lockReadOnly?: string[] } = {}): string[] {
    return [
      ...(options.keepFd !== undefined ? ['--keep-fd', String(options.keepFd)] : []),
      ...(options.lockReadOnly ?? []).flatMap((path) => ['--lock-ro', path]),
      ...this.prefix,
      ...command,
    ];
  }
}

export class BwrapBackend implements SandboxBackend {
  private readonly pool: UidPool;
  private readonly live = new Set<BwrapSandbox>();

  constructor(private readonly options: BwrapOptions) {
    this.pool = new UidPool(options.uidBase, options.uidCount);
  }

  get size(): number {
    return this.live.size;
  }

  async create(request: SandboxRequest): Promise<Sandbox> {
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
              // The sandbox's pid 1 first: its death kills every process in the pid namespace, while the
              // nsenter processes outside it still live to reap their children. Killed the other way
              // round, those children are left to the host's init to reap, and the dying pid 1 waits
              // for that (seconds, here) before the namespace is gone.
              killQuietly(initPid);
              await waitUntilGone(initPid, 5_000);
            }
            // Whatever is left (nsenter, launchers, anything in nested namespaces) is in the sandbox's
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
    let launcher: Launcher;
    let bwrap: ChildProcess | undefined;
    let checkView: ChildProcess | undefined;
    try {
      for (const device of request.devices ?? []) assertUsableDevice(device);
      if (request.machineTurns && turns) turnSocket = await TurnSocket.open(turns.socketDir, uid, turns.queue);
      const binds = (await Promise.all(attachments.map((attachment) => attachment.open(uid)))).flat();
      const procs = cgroups?.create(group, request.limits) ?? [];
      launcher = new Launcher(this.options.sandboxExec, uid, procs, () => cgroups?.stats(group));
      // The platform's files, bound read-only by host root first: their read-only flag is locked in the sandbox.
      const lockReadOnly = ['/usr', '/etc', `${this.options.platformDir}/bin`, `${this.options.platformDir}/bashrc`, request.lessonDir];
      bwrap = spawn(this.options.sandboxExec, launcher.args(['bwrap', ...bwrapArgs(request, this.options, turnSocket?.path, binds)], { keepFd: 3 /* --info-fd */, lockReadOnly }), {
        env: { PATH: '/usr/bin:/bin' },
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      });
      const initPid = await waitUntilReady(bwrap, 'bwrap', this.options.startTimeoutMs ?? 10_000);
      checkView = spawn(this.options.sandboxExec, launcher.checkViewArgs(initPid), { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
      await waitUntilReady(checkView, 'the checker\'s view', this.options.startTimeoutMs ?? 10_000);
      const sandbox = new BwrapSandbox(request.id, uid, initPid, bwrap, checkView, launcher, cleanup);
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
    await this.options.cgroups?.dispose();
  }
}

/**
 * Resolves once the child said "ready" on stdout, with the pid bwrap reported on its info fd (the
 * sandbox's pid 1) where it has one, else the child's own pid.
 */
function waitUntilReady(bwrap: ChildProcess, what: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let info = '';
    let stdout = '';
    let stderr = '';
    let initPid: number | undefined;
    let ready = false;
    const timer = setTimeout(() => finish(new Error(`${what} did not start within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      bwrap.removeListener('exit', onExit);
      if (error) reject(error);
      else resolve(initPid!);
    };
    const progress = () => {
      if (ready && initPid !== undefined) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`${what} exited with ${code} before the sandbox was ready: ${stderr.trim()}`));
    bwrap.once('exit', onExit);
    bwrap.once('error', (error) => finish(error));
    bwrap.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    bwrap.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) {
        ready = true;
        progress();
      }
    });
    const infoFd = bwrap.stdio[3] as NodeJS.ReadableStream | undefined;
    if (!infoFd) initPid = bwrap.pid;
    infoFd?.on('data', (chunk: Buffer) => {
      info += chunk.toString();
      const match = /"child-pid":\s*(\d+)/.exec(info);
      if (match) {
        initPid = Number(match[1]);
        progress();
      }
    });
  });
}
