/**
 * The sandbox backend interface. Bubblewrap is the default implementation; the interface is what a
 * gVisor or Kubernetes backend would implement next.
 */
import type { ResourceLimits, SandboxStats } from './cgroups.ts';
import type { Pty } from './pty.ts';

export interface ExecResult {
  code: number | null;
  /** stdout and stderr, interleaved, capped. */
  output: string;
  timedOut: boolean;
  durationMs: number;
}

export interface ExecOptions {
  timeoutMs: number;
  cwd?: string;
  env?: Record<string, string>;
  /**
   * Run in the checker's view: the sandbox's state (its files, processes and network) with the
   * platform's files (/usr, /etc, the lesson) as they were when the sandbox started, whatever the
   * attendee has mounted over them since. For check.sh: its result must not be forgeable by
   * covering the check, its interpreter or its tools (docs/security.md, "Checks").
   */
  checker?: boolean;
}

export interface PtyOptions {
  cols: number;
  rows: number;
  /** Defaults to an interactive bash with the lesson's PATH. */
  argv?: string[];
}

export interface Sandbox {
  readonly id: string;
  /** The unprivileged host uid the whole sandbox runs as (root inside its user namespace). */
  readonly uid: number;
  readonly alive: boolean;
  /**
   * Starts a process on a fresh pty inside the sandbox; the pty is its controlling terminal. The
   * default shell is the one `prepareShell` started, if there is one (resized to `options`).
   */
  spawnPty(options: PtyOptions): Pty;
  /** Starts the default shell now (a pooled sandbox): the next `spawnPty` without argv returns it. */
  prepareShell(): void;
  /** Runs a command inside the sandbox and collects its output. Never throws for a failing command. */
  exec(argv: string[], options: ExecOptions): Promise<ExecResult>;
  /** Kills every process of the sandbox and releases its uid. Idempotent. */
  destroy(): Promise<void>;
  /** Called once when the sandbox dies, whether destroyed or crashed. */
  onExit(listener: (reason: string) => void): void;
  /** Resource use now; undefined when running without limits (development flag). */
  stats(): SandboxStats | undefined;
}

export interface SandboxRequest {
  /** Used in logs and process titles; unique among live sandboxes. */
  id: string;
  /** Staged lesson folder, mounted read-only at /opt/opslab/lesson. */
  lessonDir: string;
  limits: ResourceLimits;
  /** Host devices beyond the harmless ones (null, zero, random, tty…), granted per profile. */
  devices?: readonly SandboxDevice[];
  /** Sizes of the sandbox's writable tmpfs mounts where the profile needs more than the backend's default. */
  tmpfsBytes?: Partial<TmpfsBytes>;
  /** A door to the machine's turn queue at /run/opslab/turns.sock (see turn-socket.ts). */
  machineTurns?: boolean;
  /** Host things bound into this one sandbox (e.g. its doors to the cloud's APIs). */
  attachments?: readonly SandboxAttachment[];
}

/**
 * Something the server provides to one sandbox through files it binds in (sockets it serves,
 * credentials). Opened once the sandbox's uid is known, closed when the sandbox is gone.
 */
export interface SandboxAttachment {
  /** Prepares host paths owned by `uid`; returns what to bind where (read-only) in the sandbox. */
  open(uid: number): Promise<Array<{ source: string; target: string }>>;
  /** Runs once the sandbox is up, before the lesson's setup.sh. */
  start?(sandbox: Sandbox): Promise<void>;
  close(): Promise<void>;
}

/** The sandbox's writable places: each a tmpfs, charged to the sandbox's memory limit. */
export interface TmpfsBytes {
  tmp: number;
  run: number;
  var: number;
  home: number;
}

/**
 * Devices a profile may grant. `/dev/net/tun` lets a lesson make tap/tun interfaces; they live in
 * the sandbox's own network namespace (creating one needs CAP_NET_ADMIN there, which only the
 * sandbox's user namespace has), so it reaches nothing outside.
 */
export const sandboxDevices = ['/dev/net/tun'] as const;
export type SandboxDevice = (typeof sandboxDevices)[number];

export interface SandboxBackend {
  create(request: SandboxRequest): Promise<Sandbox>;
  /** Kills what a crashed earlier run left behind; returns how many processes it found. */
  cleanupOrphans(): Promise<number>;
  /** Number of sandboxes alive now. */
  readonly size: number;
}
