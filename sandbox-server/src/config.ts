/**
 * Server configuration: an embedded default that works on a fresh machine, overridable by
 * environment variables (OPSLAB_*), so `npm start` needs no config file.
 */
import { availableParallelism, hostname, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SandboxProfile } from '../../lesson-model/schema.ts';
import type { ConnectionLimits } from './connection.ts';
import type { SandboxDevice, TmpfsBytes } from './sandbox/backend.ts';
import type { ResourceLimits } from './sandbox/cgroups.ts';

export const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export interface ServerConfig {
  host: string;
  port: number;
  /** Built Astro site (static files). */
  siteDir: string;
  lessonsDir: string;
  /** The room's shared services, a folder each (services/<name>/service.ts; OPSLAB_SERVICES_DIR). */
  servicesDir: string;
  /**
   * Authoring (`npm run dev`, OPSLAB_AUTHORING=1): lessons re-staged on every edit (lesson-watch.ts),
   * and the author's tools on the lesson page (re-run setup). Never in a workshop.
   */
  authoring: boolean;
  /** Root-owned, world-readable folder where the platform's and the lessons' sandbox files are staged. */
  stagingDir: string;
  /** SQLite database for progress. */
  databasePath: string;
  /** The PostgreSQL database a room of several nodes shares (OPSLAB_DATABASE_URL); unset: the SQLite file above. */
  databaseUrl?: string;
  /** This node's name in the room (OPSLAB_NODE_ID, default the host's name): unique among the room's nodes. */
  nodeId: string;
  /** The room's load balancers (OPSLAB_TRUSTED_PROXIES, addresses or CIDR ranges): their X-Forwarded-For names the client. */
  trustedProxies: string[];
  /** Where /metrics is served (OPSLAB_METRICS_HOST, OPSLAB_METRICS_PORT; port 0: a free one), never on the attendees' port. */
  metricsHost: string;
  metricsPort: number;
  /** Where the balancer and the other nodes reach this node (OPSLAB_NODE_URL; default its host and port). */
  nodeUrl?: string;
  /** Host uids [uidBase, uidBase + uidCount) are leased one per live sandbox. */
  uidBase: number;
  uidCount: number;
  /** A sandbox with no attached terminal for this long is destroyed. */
  idleTimeoutMs: number;
  /** Bytes of recent output kept per terminal and replayed on reattach. */
  scrollbackBytes: number;
  /**
   * Origins the workshop is served at besides the defaults (http://localhost:<port> and the other
   * loopback names; every local address when listening on all): e.g. https://workshop.example.org
   * behind a TLS proxy. Requests for other host names and sockets from other origins are refused.
   */
  publicOrigins: string[];
  /** What each lesson profile may use; a lesson picks a profile, the server decides what it grants. */
  profiles: Record<SandboxProfile, ProfileSpec>;
  /**
   * Abuse caps: live sandboxes in all, per attendee, and per client address (an IPv4 address or an
   * IPv6 /64). When a cap is reached, the sandbox in its scope that has had no terminal attached
   * for longest is stopped to make room (its progress stays); only sandboxes in use count.
   */
  maxSandboxes: number;
  maxSandboxesPerAttendee: number;
  maxSandboxesPerAddress: number;
  /** Sandboxes created and set up at the same time (a room arriving at once waits its turn, in order). */
  maxConcurrentStarts: number;
  /** Ready sandboxes kept per lesson without shared services, made in the background (OPSLAB_POOL_SIZE). */
  poolSize: number;
  /** An event's warm pool grows only while the machine keeps this much memory available (OPSLAB_POOL_MEMORY_RESERVE_MB). */
  poolMemoryReserveBytes: number;
  /** Which lessons the pool serves (OPSLAB_POOL_LESSONS, comma-separated); undefined: every one it can. */
  poolLessons?: string[];
  /** WebSocket upgrades allowed (token buckets: per second, burst): reconnect loops and attendee minting stop here. */
  upgradeLimits: { perAttendee: RateLimit; perAddress: RateLimit };
  /** Connections that have not sent a whole request yet, per client address (slowloris). */
  slowClients: { maxHalfOpenPerAddress: number };
  /** Per WebSocket: checks and solves (a burst, then a steady rate), input bytes. */
  connectionLimits: ConnectionLimits;
  /** Development only: run without cgroup limits where the controllers are missing. */
  devUnlimited: boolean;
  /** The machine's turn queue (one QEMU boot at a time): turns at once, and how long one may last. */
  machineTurns: { slots: number; seconds: number };
  /** After an event ends, its attendees' sandboxes are stopped this much later (OPSLAB_EVENT_END_GRACE_MS). */
  eventEndGraceMs: number;
  /**
   * Settings of the room's shared services by name (services/<name>/service.ts reads its own
   * environment variables; these override them, as tests do). Each service checks its own.
   */
  serviceOptions: Record<string, Record<string, unknown>>;
}

export interface RateLimit {
  perSecond: number;
  burst: number;
}

const MiB = 1024 * 1024;

/** What a lesson's `profile` grants its sandbox: limits, and devices beyond the harmless ones. */
export interface ProfileSpec {
  limits: ResourceLimits;
  devices: readonly SandboxDevice[];
  tmpfsBytes?: Partial<TmpfsBytes>;
  /** Access to the machine's turn queue, for work too heavy to run side by side (QEMU boots). */
  machineTurns?: boolean;
}

export const defaultProfiles: Record<SandboxProfile, ProfileSpec> = {
  small: { limits: { memoryBytes: 512 * MiB, pids: 256, cpuPercent: 100, cpuShares: 1024 }, devices: [] },
  // Labs with their own networks (a network boot): tap devices for a booting client, which boots in turn.
  network: { limits: { memoryBytes: 512 * MiB, pids: 256, cpuPercent: 100, cpuShares: 1024 }, devices: ['/dev/net/tun'], machineTurns: true },
  // Labs of several servers (a 3-node database cluster): their data lives in /var, charged to the 1.5 GiB.
  cluster: { limits: { memoryBytes: 1536 * MiB, pids: 1024, cpuPercent: 200, cpuShares: 1024 }, devices: [], tmpfsBytes: { var: 768 * MiB } },
};

/** A node's id names it in cookies, HAProxy's server lines and metrics: letters, digits, '-', '_'. */
function nodeId(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/.test(raw)) throw new Error(`OPSLAB_NODE_ID must be 1 to 40 letters, digits, '-' or '_' (starting with a letter or digit), got "${raw}"`);
  return raw;
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

export function loadConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    host: process.env.OPSLAB_HOST ?? '127.0.0.1',
    port: int('OPSLAB_PORT', 4321),
    siteDir: resolve(process.env.OPSLAB_SITE_DIR ?? resolve(projectRoot, 'dist')),
    lessonsDir: resolve(process.env.OPSLAB_LESSONS_DIR ?? resolve(projectRoot, 'lessons')),
    servicesDir: resolve(process.env.OPSLAB_SERVICES_DIR ?? resolve(projectRoot, 'services')),
    stagingDir: resolve(process.env.OPSLAB_STAGING_DIR ?? '/var/lib/opslab/staging'),
    databasePath: resolve(process.env.OPSLAB_DB ?? resolve(projectRoot, 'var/opslab.db')),
    ...(process.env.OPSLAB_DATABASE_URL ? { databaseUrl: process.env.OPSLAB_DATABASE_URL } : {}),
    ...(process.env.OPSLAB_NODE_URL ? { nodeUrl: process.env.OPSLAB_NODE_URL } : {}),
    nodeId: nodeId(process.env.OPSLAB_NODE_ID || hostname().split('.')[0]!.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'node'),
    uidBase: int('OPSLAB_UID_BASE', 600_000),
    uidCount: int('OPSLAB_UID_COUNT', 10_000),
    idleTimeoutMs: int('OPSLAB_IDLE_TIMEOUT_MS', 30 * 60_000),
    scrollbackBytes: int('OPSLAB_SCROLLBACK_BYTES', 256 * 1024),
    metricsHost: process.env.OPSLAB_METRICS_HOST ?? '127.0.0.1',
    metricsPort: int('OPSLAB_METRICS_PORT', 9464),
    trustedProxies: (process.env.OPSLAB_TRUSTED_PROXIES ?? '').split(',').map((p) => p.trim()).filter(Boolean),
    publicOrigins: (process.env.OPSLAB_PUBLIC_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    profiles: defaultProfiles,
    maxSandboxes: int('OPSLAB_MAX_SANDBOXES', 200),
    maxSandboxesPerAttendee: int('OPSLAB_MAX_SANDBOXES_PER_ATTENDEE', 3),
    // A room of 150 behind one NAT gets in; one hostile machine leaves a quarter of the room free.
    maxSandboxesPerAddress: int('OPSLAB_MAX_SANDBOXES_PER_ADDRESS', Math.ceil(0.75 * int('OPSLAB_MAX_SANDBOXES', 200))),
    maxConcurrentStarts: int('OPSLAB_MAX_CONCURRENT_STARTS', 2 * availableParallelism()),
    poolSize: int('OPSLAB_POOL_SIZE', 0),
    // 15 % of the machine (at least 1 GiB) stays for the attendees' own work and the server.
    poolMemoryReserveBytes: int('OPSLAB_POOL_MEMORY_RESERVE_MB', Math.max(1024, Math.round((0.15 * totalmem()) / MiB))) * MiB,
    ...(process.env.OPSLAB_POOL_LESSONS ? { poolLessons: process.env.OPSLAB_POOL_LESSONS.split(',').map((slug) => slug.trim()).filter(Boolean) } : {}),
    upgradeLimits: {
      perAttendee: { perSecond: 1, burst: 30 },
      perAddress: { perSecond: int('OPSLAB_UPGRADES_PER_ADDRESS_PER_SECOND', 20), burst: 300 },
    },
    slowClients: { maxHalfOpenPerAddress: int('OPSLAB_MAX_HALF_OPEN_PER_ADDRESS', 512) },
    connectionLimits: {
      checks: { perSecond: 1, burst: 10 },
      inputBytes: { perSecond: 256 * 1024, burst: 1024 * 1024 },
    },
    devUnlimited: process.env.OPSLAB_DEV_UNLIMITED === '1',
    authoring: process.env.OPSLAB_AUTHORING === '1',
    machineTurns: { slots: int('OPSLAB_MACHINE_TURN_SLOTS', 1), seconds: int('OPSLAB_MACHINE_TURN_SECONDS', 60) },
    eventEndGraceMs: int('OPSLAB_EVENT_END_GRACE_MS', 10 * 60_000),
    serviceOptions: {},
    ...overrides,
  };
}
