/**
 * A room leaving: N attendees close their tabs at once; after the idle timeout the server destroys
 * their sandboxes together. Meanwhile one remaining attendee types: its keystroke echo shows whether
 * the teardown stalls the server. Also: how long until every sandbox is gone.
 */
import { BenchAttendee } from './attendee.ts';
import { measureEcho, quiet } from './shell.ts';
import { startBenchServer } from './server.ts';
import { summarize, type LatencyRow } from './stats.ts';

const LESSON = 'getting-started';
const IDLE_TIMEOUT_MS = 1000;

export async function benchReaping(options: { attendees: number; keys: number; uidBase: number }): Promise<LatencyRow[]> {
  const server = await startBenchServer(options.uidBase, {
    OPSLAB_MAX_SANDBOXES: String(options.attendees + 10),
    OPSLAB_UPGRADES_PER_ADDRESS_PER_SECOND: '1000',
    OPSLAB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
  });
  const sandboxes = async () => ((await (await fetch(`${server.url}/api/health`)).json()) as { sandboxes: number }).sandboxes;
  try {
    const probe = await BenchAttendee.join(server.url, LESSON);
    const room: BenchAttendee[] = [];
    while (room.length < options.attendees) {
      room.push(...(await Promise.all(Array.from({ length: Math.min(20, options.attendees - room.length) }, () => BenchAttendee.join(server.url, LESSON)))));
    }
    await quiet(probe, 50);
    for (const a of room) a.close();
    const left = performance.now();
    // Type through the reaping: from just before the timeout until well after it.
    await new Promise((resolve) => setTimeout(resolve, IDLE_TIMEOUT_MS * 0.8));
    const during = await measureEcho(probe, options.keys, 10);
    let gone = Infinity;
    for (let tries = 0; tries < 600; tries++) {
      if ((await sandboxes()) <= 1) {
        gone = performance.now() - left - IDLE_TIMEOUT_MS;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const p99 = summarize(during).p99;
    return [
      {
        what: `keystroke → echo while ${options.attendees} idle sandboxes are destroyed together (all ${options.attendees} gone ${(gone / 1000).toFixed(1)} s after their idle timeout)`,
        samples: during,
        target: 'p99 ≤ 20 ms',
        met: p99 <= 20,
      },
    ];
  } finally {
    await server.stop();
  }
}
