/** Finds and kills host processes: by a list that can be re-read (a cgroup's), or by real uid, read from /proc. */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A /proc file that is gone means its process is gone (ENOENT; ESRCH while it exits). Anything else
 * (EMFILE when the server is out of descriptors) is not an answer: it is thrown, so that nobody
 * concludes a process is gone, and releases its uid, because a file could not be opened.
 */
function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
}

export interface HostProcess {
  pid: number;
  uid: number;
}

export function processesWhere(matches: (uid: number) => boolean): HostProcess[] {
  const found: HostProcess[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const status = readProc(`/proc/${pid}/status`);
    if (status === undefined) continue; // exited while we looked
    // A zombie holds nothing but its pid and goes when its parent reaps it; it cannot be killed anyway.
    if (/^State:\s+Z/m.test(status)) continue;
    const uidLine = /^Uid:\s+(\d+)/m.exec(status);
    if (uidLine && matches(Number(uidLine[1]))) found.push({ pid, uid: Number(uidLine[1]) });
  }
  return found;
}

/** SIGKILLs `pid`; false if it was already gone. */
export function killQuietly(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs the processes `find` lists until it lists none (a process may fork while we look).
 * Returns how many were killed; throws if some survive, which would leak a uid lease.
 */
export async function killUntilGone(find: () => number[], rounds = 50): Promise<number> {
  let killed = 0;
  for (let round = 0; round < rounds; round++) {
    const left = find();
    if (left.length === 0) return killed;
    for (const pid of left) if (killQuietly(pid)) killed++;
    await sleep(Math.min(5 * (round + 1), 50));
  }
  const survivors = find();
  if (survivors.length > 0) throw new Error(`processes survive SIGKILL: ${survivors.join(', ')}`);
  return killed;
}

/**
 * Every process whose real uid matches, killed. Reads all of /proc, so its cost grows with the
 * machine's process count: for orphans at start, and where no cgroup lists a sandbox's processes.
 */
export function killProcessesWhere(matches: (uid: number) => boolean): Promise<number> {
  return killUntilGone(() => processesWhere(matches).map((p) => p.pid));
}

/**
 * The fields of /proc/<pid>/stat after the command name (state, ppid, …), or undefined once the
 * process is gone. The name is in parentheses and may hold spaces: the fields follow the last ')'.
 */
export function statFields(pid: number): string[] | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Whether `pid` exists and is not a zombie (one stat file: cheap, unlike a scan of /proc). */
export function isRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

/** Resolves true once `pid` is gone or a zombie, false if it still runs after `timeoutMs`. */
export async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
  return true;
}

/**
 * Runs `step` until it succeeds: a sandbox's teardown must finish (or its cgroups and uid leak)
 * even when it first fails for a passing reason, such as EMFILE while a flood of connections holds
 * every descriptor. Waits grow to `maxWaitMs`; after `giveUpMs` the last error is thrown.
 */
export async function retryUntilDone(step: () => Promise<void>, onRetry: (error: unknown, attempt: number) => void, giveUpMs = 10 * 60_000, maxWaitMs = 5_000): Promise<void> {
  const deadline = Date.now() + giveUpMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      onRetry(error, attempt);
      await sleep(Math.min(maxWaitMs, 50 * 2 ** attempt));
    }
  }
}

/** The machine's MemAvailable (what can be used without swapping), in bytes. */
export function memAvailableBytes(): number {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}
