/**
 * A room arriving: N attendees connect within a window (spread evenly, then all at once) and each
 * waits for its prompt, on a fresh server each time (cold: no sandbox is made in advance). One
 * attendee who is already there types meanwhile: its keystroke echo shows what the arrivals cost
 * everyone else.
 */
import { BenchAttendee } from './attendee.ts';
import { measureEcho } from './shell.ts';
import { machineBusyMs, startBenchServer } from './server.ts';
import { summarize, type LatencyRow } from './stats.ts';

const LESSON = 'getting-started';

export interface BurstOptions {
  attendees: number;
  windowMs: number;
  uidBase: number;
}

interface Arrival {
  samples: number[];
  failures: string[];
  /** Machine CPU time (all processes, all cores) from the first connect to the last prompt. */
  busyMs: number;
  /** The typing attendee's keystroke → echo during the arrivals. */
  echo: number[];
}

/** Connects every attendee at its offset (ms after the start) and times connect → prompt. */
async function arrive(attendees: BenchAttendee[], offsetOf: (i: number) => number, typist: BenchAttendee): Promise<Arrival> {
  const samples: number[] = [];
  const failures: string[] = [];
  const echo: number[] = [];
  let arriving = true;
  const typing = (async () => {
    while (arriving) echo.push(...(await measureEcho(typist, 20)));
  })();
  const start = performance.now();
  const busyBefore = machineBusyMs();
  await Promise.all(
    attendees.map(async (a, i) => {
      const wait = start + offsetOf(i) - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const began = performance.now();
      try {
        await a.connect(LESSON);
        await a.prompt(60_000);
        samples.push(performance.now() - began);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }),
  );
  const busyMs = machineBusyMs() - busyBefore;
  arriving = false;
  await typing;
  return { samples, failures, busyMs, echo };
}

function burstRows(what: string, n: number, arrival: Arrival): LatencyRow[] {
  const p99 = arrival.samples.length > 0 ? summarize(arrival.samples).p99 : Infinity;
  const failed = arrival.failures.length > 0 ? `; ${arrival.failures.length} got no prompt: ${[...new Set(arrival.failures)].slice(0, 3).join(' | ')}` : '';
  const cpu = `; machine CPU ${(arrival.busyMs / n).toFixed(0)} ms per attendee`;
  return [
    { what: `${what} → prompt (${arrival.samples.length}/${n} got a prompt${failed}${cpu})`, samples: arrival.samples, target: 'all get a prompt; p99 ≤ 2 s', met: arrival.failures.length === 0 && p99 <= 2000 },
    { what: `keystroke → echo of an attendee already there, while ${what.replace(/^burst: /, '')}`, samples: arrival.echo, target: 'p99 ≤ 20 ms', met: summarize(arrival.echo).p99 <= 20 },
  ];
}

export async function benchBurst(options: BurstOptions): Promise<LatencyRow[]> {
  const n = options.attendees;
  const cases = [
    { what: `burst: ${n} attendees connect within ${options.windowMs / 1000} s (evenly spread)`, offset: (i: number) => (i * options.windowMs) / n },
    { what: `burst: ${n} attendees connect at the same instant`, offset: () => 0 },
  ];
  const rows: LatencyRow[] = [];
  for (const { what, offset } of cases) {
    const server = await startBenchServer(options.uidBase, { OPSLAB_MAX_SANDBOXES: String(Math.max(200, n + 11)) });
    try {
      // Cookies first, as if each attendee had the page open already.
      const attendees = await Promise.all(Array.from({ length: n }, () => BenchAttendee.create(server.url)));
      const typist = await BenchAttendee.join(server.url, LESSON);
      rows.push(...burstRows(what, n, await arrive(attendees, offset, typist)));
      for (const a of [typist, ...attendees]) a.close();
    } finally {
      await server.stop();
    }
  }
  return rows;
}
