/**
 * Capacity per lesson profile: idle attendees are added level by level (each a sandbox with a
 * shell at its prompt, like a room reading the lesson text) until a probe shell's keystroke echo p99
 * passes 20 ms, the machine's available memory runs low, the server refuses, or the run's bound is
 * reached. The same ramp gives the idle cost of one attendee as the slope of memory over count.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { defaultProfiles, projectRoot } from '../sandbox-server/src/config.ts';
import { sandboxProfiles, type SandboxProfile } from '../lesson-model/schema.ts';
import { BenchAttendee } from './attendee.ts';
import { measureEcho, quiet } from './shell.ts';
import { MEMORY_RESERVE, memAvailable, settle, startBenchServer } from './server.ts';
import { summarize, type FigureRow } from './stats.ts';

const MiB = 1024 * 1024;
const ECHO_LIMIT_MS = 20;

export interface CapacityOptions {
  levels: number[];
  keys: number;
  uidBase: number;
}

export interface Level {
  attendees: number;
  echoP99: number;
  serverRss: number;
  sandboxPss: number;
  cgroupBytes: number;
  available: number;
}

export interface ProfileCapacity {
  profile: SandboxProfile;
  levels: Level[];
  stoppedBy: string;
}

/** getting-started under each profile: the same one-line setup.sh, only the profile differs. */
function capacityLessons(): string {
  const dir = mkdtempSync(join(tmpdir(), 'opslab-bench-lessons-'));
  const source = join(projectRoot, 'lessons/getting-started');
  for (const profile of sandboxProfiles) {
    const target = join(dir, `capacity-${profile}`);
    cpSync(source, target, { recursive: true });
    const mdx = readFileSync(join(target, 'index.mdx'), 'utf8').replace(/^profile: .*$/m, `profile: ${profile}`);
    writeFileSync(join(target, 'index.mdx'), mdx);
  }
  return dir;
}

async function ramp(profile: SandboxProfile, lessonsDir: string, options: CapacityOptions): Promise<ProfileCapacity> {
  const max = Math.max(...options.levels);
  const server = await startBenchServer(options.uidBase, {
    OPSLAB_LESSONS_DIR: lessonsDir,
    OPSLAB_MAX_SANDBOXES: String(max + 10),
    OPSLAB_UPGRADES_PER_ADDRESS_PER_SECOND: '1000',
  });
  const lesson = `capacity-${profile}`;
  const room: BenchAttendee[] = [];
  const levels: Level[] = [];
  let stoppedBy = `the run's bound (${max} attendees)`;
  try {
    const probe = await BenchAttendee.join(server.url, lesson);
    levels: for (const level of options.levels) {
      while (room.length + 1 < level) {
        const batch = await Promise.allSettled(Array.from({ length: Math.min(20, level - 1 - room.length) }, () => BenchAttendee.join(server.url, lesson)));
        for (const joined of batch) if (joined.status === 'fulfilled') room.push(joined.value);
        const refused = batch.find((r) => r.status === 'rejected');
        if (refused) {
          stoppedBy = `the server refused attendee ${room.length + 1}: ${(refused as PromiseRejectedResult).reason.message}`;
          break levels;
        }
        if (memAvailable() < MEMORY_RESERVE) {
          stoppedBy = `memory: less than ${MEMORY_RESERVE / MiB} MiB available`;
          break levels;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await quiet(probe, 50);
      const echoP99 = summarize(await measureEcho(probe, options.keys)).p99;
      levels.push({ attendees: level, echoP99, serverRss: server.rss(), sandboxPss: server.sandboxPss(), cgroupBytes: server.sandboxCgroupBytes(), available: memAvailable() });
      if (echoP99 > ECHO_LIMIT_MS) {
        stoppedBy = `echo p99 ${echoP99.toFixed(1)} ms > ${ECHO_LIMIT_MS} ms`;
        break;
      }
    }
  } finally {
    for (const a of room) a.close();
    await server.stop();
  }
  return { profile, levels, stoppedBy };
}

export async function benchCapacity(options: CapacityOptions): Promise<{ figures: FigureRow[]; capacities: ProfileCapacity[] }> {
  const lessonsDir = capacityLessons();
  const capacities: ProfileCapacity[] = [];
  try {
    for (const profile of sandboxProfiles) {
      await settle(); // the last ramp's thousand namespaces are still being freed by the kernel
      capacities.push(await ramp(profile, lessonsDir, options));
    }
  } finally {
    rmSync(lessonsDir, { recursive: true, force: true });
  }
  const figures: FigureRow[] = capacities.map(({ profile, levels, stoppedBy }) => {
    const ok = levels.filter((l) => l.echoP99 <= ECHO_LIMIT_MS);
    const last = ok[ok.length - 1];
    const limit = defaultProfiles[profile].limits.memoryBytes;
    const first = levels[0];
    // Idle sandboxes until the reserve is reached, at the rate memory went in this ramp.
    const perAttendee = last && first && last !== first ? (first.available - last.available) / (last.attendees - first.attendees) : NaN;
    const byMemory = last ? Math.floor(last.attendees + (last.available - MEMORY_RESERVE) / perAttendee) : NaN;
    return {
      what: `capacity, profile \`${profile}\` (idle attendees at their prompt)`,
      value: last ? `${last.attendees} sandboxes, echo p99 ${last.echoP99.toFixed(1)} ms, ${(last.available / 2 ** 30).toFixed(1)} GiB still available` : 'none',
      target: 'report it',
      note: `stopped by ${stoppedBy}; memory would hold about ${Number.isFinite(byMemory) ? byMemory : '?'} idle ones at this ramp's rate; if every sandbox used its whole ${limit / MiB} MiB limit: ${Math.floor((totalmem() - MEMORY_RESERVE) / limit)}`,
    };
  });
  figures.push(idleCost(capacities));
  return { figures, capacities };
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? NaN : num / den;
}

/** One idle attendee's cost: the slope of memory over attendees across the `small` ramp's levels. */
function idleCost(capacities: ProfileCapacity[]): FigureRow {
  const levels = capacities.find((c) => c.profile === 'small')!.levels;
  const what = 'idle attendee cost (sandbox + shell + terminal, getting-started; slope over the capacity ramp)';
  if (levels.length < 2) return { what, value: 'not enough levels', target: '≤ 3 MiB per sandbox + terminal', met: false };
  const server = slope(levels.map((l) => [l.attendees, l.serverRss]));
  const processes = slope(levels.map((l) => [l.attendees, l.sandboxPss]));
  const cgroup = slope(levels.map((l) => [l.attendees, l.cgroupBytes]));
  const machine = -slope(levels.map((l) => [l.attendees, l.available]));
  return {
    what,
    value: `${((server + processes) / MiB).toFixed(2)} MiB: server ${(server / MiB).toFixed(2)} + sandbox processes ${(processes / MiB).toFixed(2)} (PSS)`,
    target: '≤ 3 MiB per sandbox + terminal',
    met: server + processes <= 3 * MiB,
    note: `memory charged to a sandbox's cgroup (processes, tmpfs files, kernel objects): ${(cgroup / MiB).toFixed(2)} MiB; the machine's MemAvailable drops ${(machine / MiB).toFixed(2)} MiB per attendee`,
  };
}
