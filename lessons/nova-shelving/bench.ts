/**
 * The nova-shelving room: K attendees, each with their own project and test1 on the room's
 * OpenStack cloud, run the real `nova list` in their sandboxes — one alone (beside the same call
 * run on the host, without sandbox or doors: the floor), all K as a room does (each after a random
 * pause), and all K at the same instant. Also: Enter on `nova unshelve test1` → ACTIVE, what an
 * attendee's provisioning costs, and the control plane's memory.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OpenStackCloud } from '../../services/openstack/cloud.ts';
import { OpenStackSession } from '../../services/openstack/api.ts';
import { BenchAttendee } from '../../bench/attendee.ts';
import { startBenchServer } from '../../bench/server.ts';
import { summarize, type FigureRow, type LatencyRow } from '../../bench/stats.ts';
import type { LessonBench } from '../../bench/lesson-bench.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const state = process.env.OPSLAB_OPENSTACK_DIR ?? '/var/lib/opslab/openstack';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let marks = 0;
/** Types `command` and resolves with the ms until its end marker (the quotes keep the echo from matching). */
async function timed(a: BenchAttendee, command: string, timeoutMs = 180_000): Promise<number> {
  const mark = `m${++marks}x`;
  const started = performance.now();
  a.type(`${command} >/dev/null 2>&1; echo END""-${mark} $?\r`);
  await a.until(() => new RegExp(`END-${mark} \\d+`).test(a.tail), command, timeoutMs);
  if (!new RegExp(`END-${mark} 0`).test(a.tail)) throw new Error(`${command} failed: ${a.tail.slice(-400)}`);
  return performance.now() - started;
}

/** Resident memory (PSS) of every process of the control plane's system user. */
function controlPlanePss(): number {
  const uid = Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith('opslab-os:'))?.split(':')[2] ?? -1);
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      sum += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return sum;
}

export async function benchOpenStack(options: { attendees: number; alone: number; roomSeconds: number; thinkMs: number; unshelves: number; uidBase: number }): Promise<{ latency: LatencyRow[]; figures: FigureRow[] }> {
  const k = options.attendees;
  const server = await startBenchServer(options.uidBase);
  const room: BenchAttendee[] = [];
  try {
    const joins: number[] = [];
    for (let i = 0; i < k; i++) {
      const started = performance.now();
      // The first may start the cloud; each gets a project, a user and a booted test1.
      room.push(await BenchAttendee.join(server.url, 'nova-shelving', 'main', i === 0 ? 300_000 : 120_000));
      joins.push(performance.now() - started);
    }
    for (const a of room) await timed(a, 'source openrc');
    const first = room[0]!;

    // The floor: the same call on the host, as the admin of the same cloud, with no sandbox and no doors.
    const admin = { ...process.env, PATH: '/usr/bin:/bin', OS_AUTH_URL: 'http://127.0.0.1:5000/v3', OS_USERNAME: 'admin', OS_PASSWORD: readFileSync(join(state, 'secrets', 'admin'), 'utf8').trim(), OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    const alone: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < options.alone; i++) {
      alone.push(await timed(first, 'nova list'));
      const started = performance.now();
      await run('nova', ['list'], { env: admin });
      floor.push(performance.now() - started);
    }
    const openstackAlone: number[] = [];
    for (let i = 0; i < options.alone; i++) openstackAlone.push(await timed(first, 'openstack server list'));

    // A room at work: each attendee runs `nova list` after a random pause (0–2× thinkMs), again and again.
    const roomSamples: number[] = [];
    const until = performance.now() + options.roomSeconds * 1000;
    await Promise.all(
      room.map(async (a) => {
        while (performance.now() < until) {
          await sleep(Math.random() * 2 * options.thinkMs);
          roomSamples.push(await timed(a, 'nova list'));
        }
      }),
    );
    const rate = roomSamples.length / options.roomSeconds;
    const burst = await Promise.all(room.map((a) => timed(a, 'nova list', 600_000)));

    // Enter on `nova unshelve test1` → ACTIVE with no task state, polled through the API every 100 ms.
    const api = await OpenStackSession.login({ authUrl: admin.OS_AUTH_URL, username: 'admin', password: admin.OS_PASSWORD, projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default', region: 'RegionOne' });
    first.type('nova show test1 | awk \'$2 == "id" { print "ID=" $4 }\'\r');
    await first.until(() => /ID=[0-9a-f-]{36}/.test(first.tail), 'test1\'s id', 60_000);
    const id = /ID=([0-9a-f-]{36})/.exec(first.tail)![1]!;
    type Server = { server: { status: string; 'OS-EXT-STS:task_state': string | null } };
    const reach = async (status: string) => {
      for (;;) {
        const { server: s } = await api.call<Server>('compute', 'GET', `/servers/${id}`);
        if (s.status === status && s['OS-EXT-STS:task_state'] === null) return;
        await sleep(100);
      }
    };
    const unshelves: number[] = [];
    for (let i = 0; i < options.unshelves; i++) {
      await timed(first, 'nova shelve test1');
      await reach('SHELVED_OFFLOADED');
      const started = performance.now();
      first.type('nova unshelve test1\r');
      await reach('ACTIVE');
      unshelves.push(performance.now() - started);
      await first.prompt(60_000);
    }

    const memory = controlPlanePss();
    const p50 = (samples: number[]) => summarize(samples).p50;
    return {
      latency: [
        { what: 'openstack: `nova list` in an attendee\'s sandbox, alone (floor: the same call on the host as the cloud\'s admin, the CLI as shipped: no sandbox, no doors, no osprofiler stub)', samples: alone, floor, target: '—' },
        { what: 'openstack: `openstack server list` in an attendee\'s sandbox, alone', samples: openstackAlone, target: '—' },
        {
          what: `openstack: \`nova list\`, ${k} attendees at work (each after a random 0–${(2 * options.thinkMs) / 1000} s pause; ${rate.toFixed(1)} calls/s in all, ${options.roomSeconds} s)`,
          samples: roomSamples,
          target: 'p50 ≤ 2 s',
          met: p50(roomSamples) <= 2000,
        },
        { what: `openstack: \`nova list\`, ${k} attendees at the same instant`, samples: burst, target: '—' },
        { what: 'openstack: Enter on `nova unshelve test1` → ACTIVE (no task state), polled through the API every 100 ms', samples: unshelves, target: '—' },
        { what: 'openstack: an attendee joins the lesson → prompt (own project, user, openrc, test1 booted and ACTIVE)', samples: joins.slice(1), target: '—' },
      ],
      figures: [{ what: 'openstack: memory of the control plane (PSS of all its processes, with the room\'s servers)', value: `${(memory / MiB).toFixed(0)} MiB`, target: 'report it' }],
    };
  } finally {
    for (const a of room) a.close();
    // The bench's attendees leave no projects behind (before the server stops the cloud it may have started).
    const cloud = new OpenStackCloud({ stateDir: state, watchSeconds: 3600 });
    for (const a of room) await cloud.deprovision(a.cookie.split('=')[1]!).catch((error) => console.error(`deprovision: ${(error as Error).message}`));
    await server.stop();
  }
}

/** `npm run bench -- --only nova-shelving`: the room's cloud under 30 attendees' CLIs (3 in the smoke test). */
export default (async ({ quick, uidBase }) =>
  benchOpenStack(
    quick
      ? { attendees: 3, alone: 3, roomSeconds: 20, thinkMs: 5000, unshelves: 1, uidBase }
      : { attendees: 30, alone: 10, roomSeconds: 120, thinkMs: 10_000, unshelves: 5, uidBase },
  )) satisfies LessonBench;
