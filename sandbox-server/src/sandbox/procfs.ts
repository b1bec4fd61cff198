/** Finds and kills host processes by their real uid, read from /proc: the sandbox's last word on cleanup. */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HostProcess {
  pid: number;
  uid: number;
}

export function processesWhere(matches: (uid: number) => boolean): HostProcess[] {
  const found: HostProcess[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // A zombie holds nothing but its pid and goes when its parent reaps it; it cannot be killed anyway.
    if (/^State:\s+Z/m.test(status)) continue;
    const uidLine = /^Uid:\s+(\d+)/m.exec(status);
    if (uidLine && matches(Number(uidLine[1]))) found.push({ pid, uid: Number(uidLine[1]) });
  }
  return found;
}

/**
 * SIGKILLs every process whose real uid matches, until none is left (a process may fork while we
 * look). Returns how many were killed; throws if some survive, which would leak a uid lease.
 */
export async function killProcessesWhere(matches: (uid: number) => boolean, rounds = 50): Promise<number> {
  let killed = 0;
  for (let round = 0; round < rounds; round++) {
    const left = processesWhere(matches);
    if (left.length === 0) return killed;
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    await sleep(Math.min(5 * (round + 1), 50));
  }
  const survivors = processesWhere(matches);
  if (survivors.length > 0) throw new Error(`processes survive SIGKILL: ${survivors.map((p) => p.pid).join(', ')}`);
  return killed;
}
