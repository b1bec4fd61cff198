/**
 * Keystroke → echo round trips: one shell alone, then the same while 50 other attendees' shells
 * stream output and 3 sandboxes run a CPU hog or a fork bomb. Each beside a raw local pty measured
 * in the same conditions.
 */
import { BenchAttendee } from './attendee.ts';
import { measureEcho, quiet } from './shell.ts';
import { RawPtyShell } from './raw-pty.ts';
import { startBenchServer } from './server.ts';
import { summarize, type FigureRow, type LatencyRow } from './stats.ts';

const LESSON = 'getting-started';

/** ~108 KB/s per shell: 8000 random bytes as base64 every 100 ms, like a verbose build log. */
export const STREAM_COMMAND = 'while :; do head -c 8000 /dev/urandom | base64; sleep 0.1; done';
export const HOSTILE_COMMANDS = [
  'for i in 1 2 3 4; do (while :; do :; done) & done; wait', // four busy loops: the cgroup caps them at one core
  'while :; do :; done',
  'bomb() { bomb | bomb & }; bomb', // the pids limit stops it
];

export interface EchoOptions {
  keys: number;
  streamers: number;
  uidBase: number;
}

export async function benchEcho(options: EchoOptions): Promise<{ latency: LatencyRow[]; figures: FigureRow[] }> {
  const server = await startBenchServer(options.uidBase);
  const latency: LatencyRow[] = [];
  const figures: FigureRow[] = [];
  const load: BenchAttendee[] = [];
  const floor = new RawPtyShell();
  try {
    await floor.prompt();
    const probe = await BenchAttendee.join(server.url, LESSON);
    const idle = await measureEcho(probe, options.keys);
    const idleFloor = await measureEcho(floor, options.keys);
    const idleP99 = summarize(idle).p99;
    latency.push({
      what: 'keystroke → echo, 1 active shell (ws client ↔ sandboxed bash)',
      samples: idle,
      floor: idleFloor,
      target: 'p99 ≤ 5 ms and ≤ 2× the raw pty',
      met: idleP99 <= 5 && idleP99 <= 2 * summarize(idleFloor).p99,
    });

    // The load: streaming shells and hostile sandboxes, each an attendee of its own.
    for (let i = 0; i < options.streamers + HOSTILE_COMMANDS.length; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, options.streamers + HOSTILE_COMMANDS.length - i) }, () => BenchAttendee.join(server.url, LESSON)));
      load.push(...batch);
    }
    load.forEach((a, i) => a.type(`${i < options.streamers ? STREAM_COMMAND : HOSTILE_COMMANDS[i - options.streamers]}\r`));
    const streamers = load.slice(0, options.streamers);
    const streamedSoFar = () => streamers.reduce((sum, a) => sum + a.bytes, 0);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the hogs and the bomb reach their limits
    const streamedBefore = streamedSoFar();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await quiet(probe, 50);
    const loaded = await measureEcho(probe, options.keys);
    const seconds = (performance.now() - started) / 1000;
    const streamed = streamedSoFar() - streamedBefore;
    const loadedFloor = await measureEcho(floor, options.keys);
    const loadedP99 = summarize(loaded).p99;
    latency.push({
      what: `keystroke → echo while ${options.streamers} shells stream output and 3 sandboxes run CPU hogs / a fork bomb`,
      samples: loaded,
      floor: loadedFloor,
      target: 'p99 ≤ 20 ms',
      met: loadedP99 <= 20,
    });
    figures.push({
      what: `the load during that row: output the ${options.streamers} streaming shells delivered`,
      value: `${(streamed / seconds / 1e6).toFixed(1)} MB/s in all (${((streamed / seconds / options.streamers) / 1e3).toFixed(0)} KB/s per shell)`,
      target: '—',
      note: `commands: \`${STREAM_COMMAND}\`; ${HOSTILE_COMMANDS.map((c) => `\`${c}\``).join(', ')}`,
    });
  } finally {
    floor.kill();
    for (const a of load) a.close();
    await server.stop();
  }
  return { latency, figures };
}
