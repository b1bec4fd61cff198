/**
 * PXE attendees: K attendees whose servers are ready (the lesson's solves, typed into their
 * terminals) all run `pxe-client` at the same moment. The machine's turn queue boots their QEMU PCs
 * one at a time: each boot's own time to the menu, and each attendee's wait from Enter to menu;
 * meanwhile, a getting-started attendee's keystroke echo.
 */
import { defaultProfiles } from '../../sandbox-server/src/config.ts';
import { BenchAttendee } from '../../bench/attendee.ts';
import { startBenchServer } from '../../bench/server.ts';
import { measureEcho, quiet } from '../../bench/shell.ts';
import { summarize, type FigureRow, type LatencyRow } from '../../bench/stats.ts';
import type { LessonBench } from '../../bench/lesson-bench.ts';

const MiB = 1024 * 1024;

const MENU = 'Opslab PXE Boot Menu';

export async function benchPxe(options: { attendees: number; keys: number; uidBase: number }): Promise<{ latency: LatencyRow[]; figures: FigureRow[] }> {
  const k = options.attendees;
  const server = await startBenchServer(options.uidBase);
  const room: BenchAttendee[] = [];
  try {
    for (let i = 0; i < k; i++) room.push(await BenchAttendee.join(server.url, 'pxe', 'server', 60_000));
    const probe = await BenchAttendee.join(server.url, 'getting-started');
    room.push(probe);
    const pxe = room.slice(0, k);
    await Promise.all(
      pxe.map(async (a) => {
        a.type('for s in network nat dhcp menu; do bash /opt/opslab/lesson/steps/$s/solve.sh || echo FAILED $s; done >/dev/null 2>&1; echo SOLVED""-DONE\r');
        await a.until(() => /SOLVED-DONE/.test(a.tail), 'the lesson\'s solves', 120_000);
      }),
    );
    await quiet(probe, 50);
    const boots: number[] = [];
    let booting = true;
    const echoWhileBooting = (async () => {
      const samples: number[] = [];
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the first PC is up and emulating
      while (booting && samples.length < options.keys * 20) samples.push(...(await measureEcho(probe, Math.min(options.keys, 100))));
      return samples;
    })();
    const waits = await Promise.all(
      pxe.map(async (a) => {
        const started = performance.now();
        // The quotes keep the command's own echo from matching the end marker.
        a.type(`pxe-client --until "${MENU}"; echo BOOT""-DONE $?\r`);
        await a.until(() => /BOOT-DONE \d+/.test(a.tail), 'pxe-client to show the menu', 60_000 * (k + 1));
        const shown = /on the console (\d+) ms after power-on/.exec(a.tail);
        if (!/BOOT-DONE 0/.test(a.tail) || !shown) throw new Error(`pxe-client failed: ${a.tail.slice(-600)}`);
        boots.push(Number(shown[1]));
        return performance.now() - started;
      }),
    );
    booting = false;
    const echo = await echoWhileBooting;
    const peak = server.sandboxPeakBytes();
    return {
      latency: [
        { what: 'pxe: one QEMU PC (TCG), power-on → the attendee\'s pxelinux menu on its console', samples: boots, target: '—' },
        { what: `pxe: Enter on \`pxe-client\` → menu, ${k} attendees at the same moment (one boot at a time, machine-wide)`, samples: waits, target: '—' },
        { what: `pxe: keystroke → echo of a getting-started attendee while those PCs boot`, samples: echo, target: 'p99 ≤ 20 ms', met: summarize(echo).p99 <= 20 },
      ],
      figures: [
        {
          what: 'pxe: memory of an attendee\'s sandbox with its PC booted (dnsmasq, namespaces, /tftpboot, QEMU with 128 MiB)',
          value: `at most ${(peak / MiB).toFixed(0)} MiB (its limit: ${defaultProfiles.network.limits.memoryBytes / MiB} MiB)`,
          target: 'report it',
        },
      ],
    };
  } finally {
    for (const a of room) a.close();
    await server.stop();
  }
}

/** `npm run bench -- --only pxe`: 8 attendees booting (two in the smoke test). */
export default (async ({ quick, keys, uidBase }) => benchPxe({ attendees: quick ? 2 : 8, keys, uidBase })) satisfies LessonBench;
