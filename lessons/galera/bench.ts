/**
 * Galera attendees: K attendees run the lesson's `vagrant up` at the same moment (three real
 * mariadbd each, joined by SST); then, with K clusters up and idle, what one costs — memory charged
 * to its sandbox, the machine's CPU — and how many fit, and a host shell's keystroke echo.
 */
import { defaultProfiles } from '../../sandbox-server/src/config.ts';
import { BenchAttendee } from '../../bench/attendee.ts';
import { MEMORY_RESERVE, machineBusyMs, memAvailable, startBenchServer } from '../../bench/server.ts';
import { measureEcho, quiet } from '../../bench/shell.ts';
import { summarize, type FigureRow, type LatencyRow } from '../../bench/stats.ts';
import type { LessonBench } from '../../bench/lesson-bench.ts';

const MiB = 1024 * 1024;

export async function benchGalera(options: { attendees: number; keys: number; uidBase: number }): Promise<{ latency: LatencyRow[]; figures: FigureRow[] }> {
  const k = options.attendees;
  const server = await startBenchServer(options.uidBase);
  const room: BenchAttendee[] = [];
  try {
    const availableBefore = memAvailable();
    for (let i = 0; i < k; i++) room.push(await BenchAttendee.join(server.url, 'galera', 'host', 60_000));
    const upTimes = await Promise.all(
      room.map(async (a) => {
        const started = performance.now();
        // The quotes keep the command's own echo from matching the end marker.
        a.type('vagrant up; echo UP""-DONE $?\r');
        await a.until(() => /UP-DONE \d+/.test(a.tail), 'vagrant up to finish', 900_000);
        if (!/UP-DONE 0/.test(a.tail)) throw new Error(`vagrant up failed: ${a.tail.slice(-400)}`);
        return performance.now() - started;
      }),
    );
    // K clusters up and idle: what they cost.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const busyBefore = machineBusyMs();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const idleCores = (machineBusyMs() - busyBefore) / 10_000;
    const perAttendee = server.sandboxCgroupBytes() / k;
    const peak = server.sandboxPeakBytes();
    const machinePer = (availableBefore - memAvailable()) / k;
    const probe = room[0]!;
    await quiet(probe, 50);
    const echo = await measureEcho(probe, options.keys);
    const byMemory = Math.floor((availableBefore - MEMORY_RESERVE) / Math.max(perAttendee, machinePer));
    return {
      latency: [
        { what: `galera: \`vagrant up\` (3 nodes, 2 SST joins), ${k} attendees at the same moment`, samples: upTimes, target: '—' },
        { what: `galera: keystroke → echo in a host tab, ${k} clusters up and idle`, samples: echo, target: 'p99 ≤ 20 ms', met: summarize(echo).p99 <= 20 },
      ],
      figures: [
        {
          what: `galera: one attendee's cluster (3 mariadbd + data), measured with ${k} up`,
          value: `${(perAttendee / MiB).toFixed(0)} MiB charged to its sandbox, at most ${(peak / MiB).toFixed(0)} MiB during the SSTs (its limit: ${defaultProfiles.cluster.limits.memoryBytes / MiB} MiB); MemAvailable −${(machinePer / MiB).toFixed(0)} MiB per attendee; idle CPU ${((idleCores / k) * 100).toFixed(1)} % of a core each`,
          target: 'report it',
          note: `memory fits about ${byMemory} such attendees on this machine (keeping 2 GiB free); the joins are CPU-bound: ${k} at once took p50 ${(summarize(upTimes).p50 / 1000).toFixed(0)} s`,
        },
      ],
    };
  } finally {
    for (const a of room) a.close();
    await server.stop();
  }
}

/** `npm run bench -- --only galera`: 24 attendees' clusters (one in the smoke test). */
export default (async ({ quick, keys, uidBase }) => {
  const { latency, figures } = await benchGalera({ attendees: quick ? 1 : 24, keys, uidBase });
  return { latency, figures };
}) satisfies LessonBench;
