/**
 * Per-sandbox resource limits with the cgroup v1 controllers this kernel offers (memory, pids,
 * cpu). Every sandbox gets a group per controller under the server's own cgroup, in a folder named
 * after the server's uid range, so that leftovers of a crashed run are found and removed at start.
 *
 * A missing controller is an error at start, unless the development flag allows running unlimited.
 *
 * The CPU the sandboxes use is counted by cpuacct, for /metrics: where it is mounted with cpu, the
 * cpu groups count it already; where it is a hierarchy of its own (this kernel), each sandbox gets a
 * cpuacct group too — its own, not one shared with the others, because a sandbox's root may mount
 * its cgroup namespace's root and would read the others' usage there. The kernel charges a group's
 * ancestors as well, so the server's folder holds the total, ended sandboxes included. cpuacct is
 * optional: without it the CPU is simply not reported.
 */
import { existsSync, mkdir as mkdirCallback, mkdirSync, readdirSync, readFileSync, rmdir as rmdirCallback, rmdirSync, writeFile as writeFileCallback } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

// The callback API, promisified: fs/promises makes a FileHandle per write, which cost the event
// loop more than the write itself when a room's sandboxes are created together.
const mkdir = promisify(mkdirCallback);
const rmdir = promisify(rmdirCallback);
const writeFile = promisify(writeFileCallback);

export interface ResourceLimits {
  /** RAM; swap is limited to the same total (memsw), so a hog cannot page its way past it. */
  memoryBytes: number;
  /** Processes and threads. */
  pids: number;
  /** Hard cap as a share of one core (100 = one core); the CFS period is 100 ms. */
  cpuPercent: number;
  /** Relative weight when cores are contended (1024 = default). */
  cpuShares: number;
}

export interface SandboxStats {
  memoryBytes: number;
  memoryLimitBytes: number;
  oomKills: number;
  pids: number;
  cpuThrottledPeriods: number;
  /** Its CPU weight now: STARTING_CPU_SHARES until an attendee works in it. */
  cpuShares: number;
  /** CPU time its processes have used (undefined without cpuacct). */
  cpuSeconds: number | undefined;
}

/** The controllers a sandbox cannot run without; cpuacct (counting only) is added where it is a hierarchy of its own. */
const REQUIRED = ['memory', 'pids', 'cpu'] as const;

/**
 * A sandbox's CPU weight while it starts (bwrap, its view, the lesson's setup) and while it waits in
 * the pool: a sixteenth of an attended one's. When a room arrives, the cores are busy with starts;
 * the scheduler then runs whoever is already typing first (an earlier deadline at a higher weight),
 * so arrivals cost the room's echo nothing while idle cores still go to the starts (the weight only
 * matters under contention). docs/decisions.md §23.
 */
export const STARTING_CPU_SHARES = 64;
type Controller = (typeof REQUIRED)[number] | 'cpuacct';

/** Where each controller's hierarchy is mounted and this process's own group in it. */
function ownGroups(): Partial<Record<Controller, string>> | string {
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const found: Partial<Record<Controller, string>> = {};
  for (const line of self.trim().split('\n')) {
    const [, controllers, path] = line.split(':');
    for (const c of controllers!.split(',')) {
      if (([...REQUIRED, 'cpuacct'] as string[]).includes(c) && existsSync(`/sys/fs/cgroup/${c}/cgroup.procs`)) found[c as Controller] = join(`/sys/fs/cgroup/${c}`, path!);
    }
  }
  const missing = REQUIRED.filter((c) => !found[c]);
  return missing.length > 0 ? `cgroup v1 controller(s) not available: ${missing.join(', ')}` : found;
}

/**
 * Waits for every operation, then throws the first failure: a caller cleaning up after a failure
 * must not race a mkdir still under way (it would leave a group behind).
 */
async function settled(operations: Array<Promise<unknown> | undefined>): Promise<void> {
  const results = await Promise.allSettled(operations);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

export class Cgroups {
  private readonly controllers: Controller[] = [...REQUIRED];
  /** This server's folder in each controller's hierarchy. */
  private readonly bases: Partial<Record<Controller, string>>;
  /** The hierarchy whose groups have cpuacct.usage (undefined: no cpuacct here). */
  private readonly accountedBy: 'cpu' | 'cpuacct' | undefined;

  /** `scope` names this server's folder (its uid range), so two servers never touch each other's groups. */
  constructor(scope: string) {
    const found = ownGroups();
    if (typeof found === 'string') throw new Error(`${found}: sandboxes cannot be limited (set OPSLAB_DEV_UNLIMITED=1 to run without limits, for development only)`);
    const coMounted = existsSync(join(found.cpu!, 'cpuacct.usage'));
    if (found.cpuacct && !coMounted) this.controllers.push('cpuacct');
    this.bases = Object.fromEntries(this.controllers.map((c) => [c, join(found[c]!, `opslab-${scope}`)]));
    for (const base of Object.values(this.bases)) mkdirSync(base, { recursive: true });
    this.accountedBy = coMounted ? 'cpu' : found.cpuacct ? 'cpuacct' : undefined;
  }

  private dir(controller: Controller, name: string): string {
    return join(this.bases[controller]!, name);
  }

  /** Memory charged to every sandbox of this server together: one read of their parent group (v1 counts its children). */
  chargedMemoryBytes(): number {
    return Number(readFileSync(join(this.bases.memory!, 'memory.usage_in_bytes'), 'utf8'));
  }

  /**
   * CPU time every sandbox of this server has used since its folder was made, in seconds, ended
   * sandboxes included (a group's usage is charged to its ancestors too); undefined without cpuacct.
   */
  chargedCpuSeconds(): number | undefined {
    if (!this.accountedBy) return undefined;
    return Number(readFileSync(join(this.bases[this.accountedBy]!, 'cpuacct.usage'), 'utf8')) / 1e9;
  }

  /**
   * Creates the groups with their limits, the CPU weight at STARTING_CPU_SHARES until `attended`;
   * returns the cgroup.procs files a process writes itself into.
   *
   * Asynchronous (libuv's threads), as every change to the cgroup tree here: a mkdir, rmdir or
   * limit write waits for the kernel's cgroup lock, which the teardown of hundreds of sandboxes
   * holds for long stretches — on the event loop that stalled every attendee (750 ms, measured).
   */
  async create(name: string, limits: ResourceLimits): Promise<string[]> {
    await settled(this.controllers.map((c) => mkdir(this.dir(c, name), { recursive: true })));
    const memory = this.dir('memory', name);
    const cpu = this.dir('cpu', name);
    await settled([
      (async () => {
        // In this order: the kernel refuses a memory+swap limit below the memory limit.
        await writeFile(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
        if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) await writeFile(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      })(),
      writeFile(join(this.dir('pids', name), 'pids.max'), String(limits.pids)),
      (async () => {
        await writeFile(join(cpu, 'cpu.cfs_period_us'), '100000');
        await writeFile(join(cpu, 'cpu.cfs_quota_us'), String(Math.round(limits.cpuPercent * 1000)));
        await writeFile(join(cpu, 'cpu.shares'), String(Math.min(STARTING_CPU_SHARES, limits.cpuShares)));
      })(),
    ]);
    return this.controllers.map((c) => join(this.dir(c, name), 'cgroup.procs'));
  }

  /** An attendee works in the sandbox now (its first terminal): its full CPU weight. */
  attended(name: string, limits: ResourceLimits): Promise<void> {
    return writeFile(join(this.dir('cpu', name), 'cpu.shares'), String(limits.cpuShares));
  }

  /**
   * The processes in a sandbox's groups, read from its pids group: every process of a sandbox starts
   * in its groups and its children inherit them, and an unprivileged process cannot leave them.
   * (Exited processes leave the list at once, before their parent reaps them.)
   */
  processes(name: string): number[] {
    try {
      return readFileSync(join(this.dir('pids', name), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  stats(name: string): SandboxStats {
    const read = (c: Controller, file: string) => readFileSync(join(this.dir(c, name), file), 'utf8');
    const field = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return {
      memoryBytes: Number(read('memory', 'memory.usage_in_bytes')),
      memoryLimitBytes: Number(read('memory', 'memory.limit_in_bytes')),
      oomKills: field(read('memory', 'memory.oom_control'), 'oom_kill'),
      pids: Number(read('pids', 'pids.current')),
      cpuThrottledPeriods: field(read('cpu', 'cpu.stat'), 'nr_throttled'),
      cpuShares: Number(read('cpu', 'cpu.shares')),
      cpuSeconds: this.accountedBy ? Number(read(this.accountedBy, 'cpuacct.usage')) / 1e9 : undefined,
    };
  }

  /** Removes the groups once their processes are gone (the caller kills them first); retries while the kernel lets go. */
  async remove(name: string): Promise<void> {
    for (const c of this.controllers) {
      const dir = this.dir(c, name);
      for (let attempt = 0; existsSync(dir); attempt++) {
        try {
          await rmdir(dir);
        } catch (error) {
          if (attempt >= 100) throw new Error(`cannot remove cgroup ${dir}: ${(error as Error).message}`);
          await sleep(10);
        }
      }
    }
  }

  /** Removes this server's (empty) folders at shutdown. */
  async dispose(): Promise<void> {
    for (const base of Object.values(this.bases)) {
      try {
        rmdirSync(base);
      } catch {
        // still in use by a sandbox being torn down, or already gone: the next start cleans it
      }
    }
  }

  /** Names of the groups that exist now (for orphan cleanup and leak checks). */
  list(): string[] {
    const names = new Set<string>();
    for (const base of Object.values(this.bases)) {
      for (const entry of readdirSync(base, { withFileTypes: true })) if (entry.isDirectory()) names.add(entry.name);
    }
    return [...names];
  }
}
