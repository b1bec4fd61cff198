/**
 * A room arriving: N attendees connect within a window (spread evenly, then all at once) and each
 * waits for its prompt, on a fresh server each time (cold: no sandbox is made in advance). One
 * attendee who is already there types meanwhile: its keystroke echo shows what the arrivals cost
 * everyone else.
 */
import { setPriority } from 'node:os';
import { BenchAttendee } from './attendee.ts';
import { measureBareBwrapCpu } from './sandbox-start.ts';
import { machineBusyMs, settle, startBenchServer, type BenchServer, type LoopDelay } from './server.ts';
import { summarize, type FigureRow, type LatencyRow } from './stats.ts';
import { startTypist, type Typist } from './typist.ts';

const LESSON = 'getting-started';

export interface BurstOptions {
  attendees: number;
  windowMs: number;
  /** How many times the pooled burst runs (its figures are the rounds' together). */
  pooledRounds: number;
  uidBase: number;
}

export interface Arrival {
  samples: number[];
  failures: string[];
  /** Machine CPU time (all processes, all cores) from the first connect to the last prompt. */
  busyMs: number;
  /** The typing attendee's keystroke → echo during the arrivals. */
  echo: number[];
  /** The server's event-loop delay during the arrivals. */
  loop: LoopDelay;
}

/** Connects every attendee at its offset (ms after the start) and times connect → prompt. */
export async function arrive(server: BenchServer, attendees: BenchAttendee[], offsetOf: (i: number) => number, typist: Typist, lesson = LESSON): Promise<Arrival> {
  const samples: number[] = [];
  const failures: string[] = [];
  typist.start();
  await server.loopDelay(); // from here on
  const start = performance.now();
  const busyBefore = machineBusyMs();
  await Promise.all(
    attendees.map(async (a, i) => {
      const wait = start + offsetOf(i) - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const began = performance.now();
      try {
        await a.connect(lesson);
        await a.prompt(60_000);
        samples.push(performance.now() - began);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }),
  );
  const busyMs = machineBusyMs() - busyBefore;
  const loop = await server.loopDelay();
  const echo = await typist.stop();
  return { samples, failures, busyMs, echo, loop };
}

function burstRows(what: string, n: number, arrival: Arrival, target: { p99Ms: number }, bareBwrapCpuMs: number): { rows: LatencyRow[]; figures: FigureRow[] } {
  const p99 = arrival.samples.length > 0 ? summarize(arrival.samples).p99 : Infinity;
  const failed = arrival.failures.length > 0 ? `; ${arrival.failures.length} got no prompt: ${[...new Set(arrival.failures)].slice(0, 3).join(' | ')}` : '';
  const cpu = arrival.busyMs / n;
  const during = what.replace(/^burst: /, '');
  return {
    rows: [
      { what: `${what} → prompt (${arrival.samples.length}/${n} got a prompt${failed})`, samples: arrival.samples, target: `all get a prompt; p99 ≤ ${target.p99Ms / 1000} s`, met: arrival.failures.length === 0 && p99 <= target.p99Ms },
      { what: `keystroke → echo of an attendee already there, while ${during}`, samples: arrival.echo, target: 'p99 ≤ 20 ms', met: summarize(arrival.echo).p99 <= 20 },
    ],
    figures: [
      { what: `machine CPU per attendee, while ${during}`, value: `${cpu.toFixed(0)} ms = ${(cpu / bareBwrapCpuMs).toFixed(1)}× the floor`, floor: `${bareBwrapCpuMs.toFixed(0)} ms (a bare \`bwrap --unshare-all … true\`)`, target: '≤ 5× the floor', met: cpu <= 5 * bareBwrapCpuMs },
      { what: `the server's event-loop delay, while ${during}`, value: `p50 ${arrival.loop.p50.toFixed(1)} ms, p99 ${arrival.loop.p99.toFixed(1)} ms, max ${arrival.loop.max.toFixed(1)} ms`, target: 'p99 ≤ 10 ms', met: arrival.loop.p99 <= 10 },
    ],
  };
}

/** The rounds' figures as one: their samples together, the worst round's event loop. */
function combined(rounds: Arrival[]): Arrival {
  const loops = rounds.map((r) => r.loop);
  return {
    samples: rounds.flatMap((r) => r.samples),
    failures: rounds.flatMap((r) => r.failures),
    busyMs: rounds.reduce((sum, r) => sum + r.busyMs, 0),
    echo: rounds.flatMap((r) => r.echo),
    loop: { p50: Math.max(...loops.map((l) => l.p50)), p99: Math.max(...loops.map((l) => l.p99)), max: Math.max(...loops.map((l) => l.max)), samples: loops.reduce((sum, l) => sum + l.samples, 0) },
  };
}

export async function benchBurst(options: BurstOptions): Promise<{ rows: LatencyRow[]; figures: FigureRow[] }> {
  const n = options.attendees;
  // A pooled burst is over in ~300 ms, about 20 of the typist's keystrokes: alone, its echo's p99
  // would be its worst keystroke. Its rounds (each on a fresh server and a full pool) give 100.
  const cases = [
    { what: `burst: ${n} attendees connect within ${options.windowMs / 1000} s (evenly spread)`, offset: (i: number) => (i * options.windowMs) / n, target: { p99Ms: 2000 }, rounds: 1 },
    { what: `burst: ${n} attendees connect at the same instant`, offset: () => 0, target: { p99Ms: 5000 }, rounds: 1 },
    { what: `burst: ${n} attendees connect at the same instant, ${n} sandboxes pooled`, offset: () => 0, target: { p99Ms: 1000 }, pool: n, rounds: options.pooledRounds },
  ];
  const bareBwrapCpuMs = await measureBareBwrapCpu(20);
  const rows: LatencyRow[] = [];
  const figures: FigureRow[] = [];
  for (const { what, offset, target, pool, rounds } of cases) {
    const arrivals: Arrival[] = [];
    for (let round = 0; round < rounds; round++) arrivals.push(await burstRound(options, offset, pool));
    const result = burstRows(rounds > 1 ? `${what} (${rounds} rounds)` : what, n * rounds, combined(arrivals), target, bareBwrapCpuMs);
    rows.push(...result.rows);
    figures.push(...result.figures);
  }
  return { rows, figures };
}

/** One burst on a fresh server (with its pool full first, if any). */
async function burstRound(options: BurstOptions, offset: (i: number) => number, pool: number | undefined): Promise<Arrival> {
  const n = options.attendees;
  // The last burst's sandboxes are torn down in the kernel's background for a while: not what this one measures.
  await settle();
  // The whole room comes from one address here (loopback): its per-address cap must not be what is measured.
  const server = await startBenchServer(options.uidBase, {
    OPSLAB_MAX_SANDBOXES: String(Math.max(200, n + 11)),
    OPSLAB_MAX_SANDBOXES_PER_ADDRESS: String(n + 11),
    ...(pool ? { OPSLAB_POOL_SIZE: String(pool), OPSLAB_POOL_LESSONS: LESSON } : {}),
  });
  try {
    if (pool) {
      await server.sandboxesAtLeast(pool, 600_000);
      await settle();
    }
    // Cookies first, as if each attendee had the page open already.
    const attendees = await Promise.all(Array.from({ length: n }, () => BenchAttendee.create(server.url)));
    const typist = await startTypist(server.url, LESSON);
    try {
      // The load generator stands for 150 browsers on other machines: it takes what the server
      // leaves, not a share as large as the server's. Lowered only now: the server and the typist,
      // started above, keep the usual priority (a child inherits its parent's).
      setPriority(10);
      return await arrive(server, attendees, offset, typist);
    } finally {
      setPriority(0);
      typist.close();
      for (const a of attendees) a.close();
    }
  } finally {
    await server.stop();
  }
}
