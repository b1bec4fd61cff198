/**
 * The real server as its own process, for the load benchmarks: the load generator (this process)
 * must not share an event loop with the server it measures. Also reads what the server costs:
 * its own RSS, its sandboxes' processes (PSS) and the memory charged to their cgroups.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { statFields } from '../sandbox-server/src/sandbox/procfs.ts';
import { freePort, spawnServer } from '../sandbox-server/test/server-process.ts';

export interface BenchServer {
  url: string;
  pid: number;
  /** Resident memory of the server process itself, in bytes. */
  rss(): number;
  /** Proportional set size of every process below the server (sandbox pid 1s, shells, their children). */
  sandboxPss(): number;
  /** Memory charged to the sandboxes' cgroups: their processes, tmpfs files and kernel objects. */
  sandboxCgroupBytes(): number;
  /** The highest memory use any one live sandbox has had (its cgroup's high-water mark). */
  sandboxPeakBytes(): number;
  /** Resolves once at least `count` sandboxes are alive (their cgroups exist). */
  sandboxesAtLeast(count: number, timeoutMs: number): Promise<void>;
  /** The server's event-loop delay since the last call (bench/loop-probe.ts), in ms. */
  loopDelay(): Promise<LoopDelay>;
  stop(): Promise<void>;
}

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

export async function startBenchServer(uidBase: number, env: Record<string, string> = {}): Promise<BenchServer> {
  const work = mkdtempSync(join(tmpdir(), 'opslab-bench-server-'));
  chmodSync(work, 0o755);
  const port = await freePort();
  const child: ChildProcess = await spawnServer({
    OPSLAB_PORT: String(port),
    OPSLAB_DB: join(work, 'bench.db'),
    OPSLAB_STAGING_DIR: join(work, 'staging'),
    OPSLAB_UID_BASE: String(uidBase),
    OPSLAB_LOG_LEVEL: 'warn',
    OPSLAB_BENCH_LOOP_FILE: join(work, 'loop.json'),
    ...env,
  }, [fileURLToPath(new URL('./loop-probe.ts', import.meta.url))]);
  const pid = child.pid!;
  const memoryGroup = join('/sys/fs/cgroup/memory', cgroupPath(pid, 'memory'), `opslab-${uidBase}`);
  /** The live sandboxes' memory cgroups (one directory each). */
  const sandboxGroups = () => (existsSync(memoryGroup) ? readdirSync(memoryGroup, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(memoryGroup, e.name)) : []);
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    rss: () => statusField(pid, 'VmRSS'),
    sandboxPss: () => descendants(pid).reduce((sum, p) => sum + pss(p), 0),
    sandboxCgroupBytes: () => (existsSync(memoryGroup) ? Number(readFileSync(join(memoryGroup, 'memory.usage_in_bytes'), 'utf8')) : 0),
    sandboxPeakBytes: () => Math.max(0, ...sandboxGroups().map((group) => Number(readFileSync(join(group, 'memory.max_usage_in_bytes'), 'utf8')))),
    async sandboxesAtLeast(count, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (sandboxGroups().length < count) {
        if (performance.now() > deadline) throw new Error(`only ${sandboxGroups().length} of ${count} sandboxes after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async loopDelay() {
      const file = join(work, 'loop.json');
      rmSync(file, { force: true });
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      return JSON.parse(readFileSync(file, 'utf8')) as LoopDelay;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function cgroupPath(pid: number, controller: string): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers!.split(',').includes(controller)) return path!;
  }
  throw new Error(`no ${controller} cgroup for ${pid}`);
}

/** A `kB` field of /proc/<pid>/status, in bytes (0 once the process is gone). */
function statusField(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function pss(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0; // exited meanwhile
  }
}

/** Every live process whose parent chain reaches `root` (not `root` itself). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue; // exited meanwhile
    const ppid = Number(fields[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Below this much available memory the machine is "full": the lessons' own processes need room. */
export const MEMORY_RESERVE = 2 * 1024 ** 3;

/** MemAvailable of the machine, in bytes. */
export function memAvailable(): number {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Number(match![1]) * 1024;
}

/** CPU time one process has used (user + system), in ms. */
export function processCpuMs(pid: number): number {
  const fields = statFields(pid);
  return fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 : 0; // utime, stime in USER_HZ (100)
}

/** CPU time the whole machine has spent busy (all cores, not idle or iowait), in ms. */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return ((total - idle) * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * Waits until the machine is quiet (less than a tenth of a core busy over a second), so that one
 * benchmark does not measure the last one's aftermath: the kernel frees hundreds of destroyed
 * sandboxes' namespaces in the background for a while. Bounded; returns the seconds waited.
 */
export async function settle(maxSeconds = 120): Promise<number> {
  const started = performance.now();
  while ((performance.now() - started) / 1000 < maxSeconds) {
    const before = machineBusyMs();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (machineBusyMs() - before < 100) break;
  }
  return (performance.now() - started) / 1000;
}
