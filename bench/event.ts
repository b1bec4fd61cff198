/**
 * A workshop event of N attendees on one server: the warm pool filled for the room, everyone
 * arriving at the same instant (→ prompt), then everyone pressing Check within a few seconds while
 * the instructor's dashboard is open (Check → the attendee's cell on the dashboard, beside Check →
 * the attendee's own result: the floor, the same check without the dashboard's path). An attendee
 * already there types throughout (keystroke → echo). The server's CPU per check is measured with
 * the dashboard open and, in a second round of checks, with no dashboard: the difference is what
 * the dashboard's updates cost.
 */
import { request } from 'node:http';
import { setPriority } from 'node:os';
import type { DashboardEvent } from '../protocol/workshop.ts';
import { WARM_SHARE } from '../sandbox-server/src/workshop.ts';
import { BenchAttendee } from './attendee.ts';
import { arrive } from './burst.ts';
import { processCpuMs, settle, startBenchServer } from './server.ts';
import { summarize, type FigureRow, type LatencyRow } from './stats.ts';
import { startTypist } from './typist.ts';

const LESSON = 'getting-started';
const STEP = 'create-file';
const TOKEN = 'bench-instructor-token';

export interface EventBenchOptions {
  attendees: number;
  /** The checks are spread over this window. */
  checkWindowMs: number;
  uidBase: number;
  /** Wait for a quiet machine between the phases (a full run; the smoke test's numbers nobody reads). */
  settle: boolean;
}

export function call(server: { url: string }, method: string, path: string, cookie: string | undefined, body?: unknown): Promise<{ status: number; text: string; cookie?: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${server.url}${path}`, { method, headers: { origin: server.url, ...(cookie ? { cookie } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text, cookie: res.headers['set-cookie']?.[0]?.split(';')[0] }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The dashboard's stream, as the dashboard page reads it: the time each attendee's row arrives with one more attempt (of STEP). */
export function openDashboard(server: { url: string }, eventId: string, cookie: string): { attempts: Map<string, Array<{ attempts: number; at: number }>>; close(): void; opened: Promise<void> } {
  const attempts = new Map<string, Array<{ attempts: number; at: number }>>();
  let resolveOpened!: () => void;
  const opened = new Promise<void>((resolve) => (resolveOpened = resolve));
  const req = request(`${server.url}/api/instructor/events/${eventId}/stream`, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const at = performance.now();
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(0, end).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const message = JSON.parse(data) as DashboardEvent;
        if (message.type === 'snapshot') resolveOpened();
        if (message.type !== 'row') continue;
        const list = attempts.get(message.row.attendee) ?? [];
        list.push({ attempts: message.row.cells[STEP]?.attempts ?? 0, at });
        attempts.set(message.row.attendee, list);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { attempts, opened, close: () => req.destroy() };
}

/** Everyone presses Check once, at a random moment within the window; returns each one's start and result time. */
async function checkRound(attendees: BenchAttendee[], windowMs: number): Promise<Map<string, { sent: number; result: number; attempt: number }>> {
  const times = new Map<string, { sent: number; result: number; attempt: number }>();
  const start = performance.now();
  await Promise.all(
    attendees.map(async (a, i) => {
      // Spread evenly with a per-attendee jitter, as clicks are.
      const offset = ((i + Math.random()) * windowMs) / attendees.length;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + offset - performance.now())));
      const sent = performance.now();
      const result = await a.check(STEP);
      times.set(a.id, { sent, result: performance.now(), attempt: 0 });
      if (result.passed) throw new Error('the check passed: nothing was done, it must fail');
    }),
  );
  return times;
}

export async function benchEvent(options: EventBenchOptions): Promise<{ rows: LatencyRow[]; figures: FigureRow[] }> {
  const n = options.attendees;
  const quiet = () => (options.settle ? settle() : Promise.resolve(0));
  await quiet();
  const server = await startBenchServer(options.uidBase, {
    OPSLAB_MAX_SANDBOXES: String(Math.max(200, n + 11)),
    OPSLAB_MAX_SANDBOXES_PER_ADDRESS: String(2 * n + 11),
    OPSLAB_INSTRUCTOR_TOKEN: TOKEN,
  });
  const rows: LatencyRow[] = [];
  const figures: FigureRow[] = [];
  try {
    const login = await call(server, 'POST', '/api/instructor/login', undefined, { token: TOKEN });
    if (login.status !== 200 || !login.cookie) throw new Error(`the instructor could not sign in: ${login.text}`);
    const instructor = login.cookie;
    // The room: n of the expected arrive, the share the warm pool is made for (70 %).
    const expected = Math.ceil(n / WARM_SHARE);
    const created = await call(server, 'POST', '/api/instructor/events', instructor, { title: 'Bench', lessons: [LESSON], starts: new Date().toISOString(), expected });
    if (created.status !== 201) throw new Error(`the event could not be made: ${created.text}`);
    const { event } = JSON.parse(created.text) as { event: { id: string; code: string } };

    const attendees = await Promise.all(Array.from({ length: n }, () => BenchAttendee.create(server.url)));
    for (const a of attendees) {
      const joined = await call(server, 'POST', '/api/join', a.cookie, { code: event.code, name: `attendee ${a.id.slice(0, 6)}` });
      if (joined.status !== 200) throw new Error(`an attendee could not join: ${joined.text}`);
    }
    // The typist is an attendee too (not of the event): its sandbox is made cold, before the pool counts.
    const typist = await startTypist(server.url, LESSON);
    try {
      await server.sandboxesAtLeast(n + 1, 900_000); // the pool's n (0.7 × expected), and the typist's
      await quiet();

      // 1. The room arrives at once, the pool warm.
      setPriority(10); // the generator stands for n browsers elsewhere: it takes what the server leaves
      const arrival = await arrive(server, attendees, () => 0, typist, LESSON);
      setPriority(0);
      const failed = arrival.failures.length > 0 ? `; ${arrival.failures.length} got no prompt: ${[...new Set(arrival.failures)].slice(0, 3).join(' | ')}` : '';
      const p99 = arrival.samples.length ? summarize(arrival.samples).p99 : Infinity;
      rows.push({ what: `event: ${n} of ${expected} expected arrive at the same instant, the warm pool filled (${n} = ${WARM_SHARE * 100} %) → prompt (${arrival.samples.length}/${n}${failed})`, samples: arrival.samples, target: 'p99 ≤ 500 ms', met: arrival.failures.length === 0 && p99 <= 500 });
      rows.push({ what: `event: keystroke → echo of an attendee already there, while ${n} arrive`, samples: arrival.echo, target: 'p99 ≤ 20 ms', met: arrival.echo.length > 0 && summarize(arrival.echo).p99 <= 20 });
      await quiet();

      // 2. Everyone checks within the window, the dashboard open.
      const dashboard = openDashboard(server, event.id, instructor);
      await dashboard.opened;
      typist.start();
      let cpuBefore = processCpuMs(server.pid);
      const watched = await checkRound(attendees, options.checkWindowMs);
      const cpuWatched = processCpuMs(server.pid) - cpuBefore;
      const echoWatched = await typist.stop();
      // Each check's cell: the first row of that attendee after the check was sent, with its attempt counted.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const toCell: number[] = [];
      const toResult: number[] = [];
      let missing = 0;
      for (const a of attendees) {
        const t = watched.get(a.id)!;
        toResult.push(t.result - t.sent);
        const row = dashboard.attempts.get(a.id)?.find((r) => r.at >= t.sent && r.attempts >= 1);
        if (row) toCell.push(row.at - t.sent);
        else missing++;
      }
      dashboard.close();
      const cellP95 = toCell.length ? summarize(toCell).p95 : Infinity;
      rows.push({
        what: `event: Check → the attendee's cell on the dashboard, ${n} checks within ${options.checkWindowMs / 1000} s (floor: Check → the attendee's own result)${missing ? `; ${missing} never reached the dashboard` : ''}`,
        samples: toCell,
        floor: toResult,
        target: 'p95 ≤ 250 ms',
        met: missing === 0 && cellP95 <= 250,
      });
      rows.push({ what: `event: keystroke → echo of an attendee already there, while ${n} check with the dashboard open`, samples: echoWatched, target: 'p99 ≤ 20 ms', met: echoWatched.length > 0 && summarize(echoWatched).p99 <= 20 });

      // 3. The same checks with no dashboard open: the difference in the server's CPU is the dashboard's.
      await quiet();
      cpuBefore = processCpuMs(server.pid);
      await checkRound(attendees, options.checkWindowMs);
      const cpuAlone = processCpuMs(server.pid) - cpuBefore;
      figures.push({
        what: `event: the server's CPU per check, ${n} attendees, dashboard open`,
        value: `${(cpuWatched / n).toFixed(2)} ms (the dashboard's updates: ${((cpuWatched - cpuAlone) / n).toFixed(2)} ms of it)`,
        floor: `${(cpuAlone / n).toFixed(2)} ms with no dashboard open`,
        target: 'report it',
      });
    } finally {
      setPriority(0);
      typist.close();
      for (const a of attendees) a.close();
    }
  } finally {
    await server.stop();
  }
  return { rows, figures };
}
