/**
 * A room of three nodes on this one machine (docs/scale-out.md): the tests' own PostgreSQL 15 and
 * HAProxy 2.6 (sandbox-server/test/postgres-server.ts, haproxy-server.ts with the shipped
 * deploy/haproxy/haproxy.cfg) and three server processes. Measured:
 * - arrival → prompt and keystroke → echo through HAProxy, beside the same straight to a node (the
 *   floor: the cost of the extra hop);
 * - from a node's SIGKILL to its attendees' prompts on the survivors (reconnecting as the page does);
 * - a Check on node B or C → its row on node A's dashboard (LISTEN/NOTIFY), beside Check → result;
 * - what the room announces it can take, one node against three.
 * Everything shares this machine's two cores and its memory: the nodes, PostgreSQL, HAProxy and the
 * load generator. Three machines would each bring their own.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { NodeCapacity } from '../sandbox-server/src/node-store.ts';
import { NODE_COOKIE } from '../sandbox-server/src/placement.ts';
import { startTestHaproxy } from '../sandbox-server/test/haproxy-server.ts';
import { startTestPostgres } from '../sandbox-server/test/postgres-server.ts';
import { freePort, spawnServer } from '../sandbox-server/test/server-process.ts';
import { BenchAttendee } from './attendee.ts';
import { call, openDashboard } from './event.ts';
import { measureEcho } from './shell.ts';
import { summarize, type FigureRow, type LatencyRow } from './stats.ts';

const LESSON = 'getting-started';
const STEP = 'create-file';
const TOKEN = 'bench-nodes-instructor';
const NODES = ['node-a', 'node-b', 'node-c'] as const;
type NodeId = (typeof NODES)[number];

export interface NodesBenchOptions {
  /** Arrivals measured through the balancer, and as many straight to a node. */
  arrivals: number;
  keys: number;
  /** Attendees in the room when a node is killed. */
  room: number;
  uidBase: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An attendee's terminal through the balancer, retried as the page retries (a refusal names the node to go to). */
async function reconnect(lb: string, cookie: string, node: string, deadline: number): Promise<{ attendee: BenchAttendee; node: string }> {
  for (let attempt = 0; ; attempt++) {
    const attendee = BenchAttendee.withCookie(lb, `${cookie}; ${NODE_COOKIE}=${node}`);
    try {
      await attendee.connect(LESSON);
      await attendee.prompt(120_000);
      return { attendee, node };
    } catch (error) {
      attendee.close();
      if (performance.now() > deadline) throw error;
      await sleep(Math.min(2000, 250 * 2 ** attempt));
    }
  }
}

export async function benchNodes(o: NodesBenchOptions): Promise<{ rows: LatencyRow[]; figures: FigureRow[] }> {
  const rows: LatencyRow[] = [];
  const figures: FigureRow[] = [];
  const work = mkdtempSync(join(tmpdir(), 'opslab-bench-nodes-'));
  chmodSync(work, 0o755);
  const postgres = await startTestPostgres();
  const children = new Map<NodeId, ChildProcess>();
  let haproxy: Awaited<ReturnType<typeof startTestHaproxy>> | undefined;
  try {
    const databaseUrl = postgres.url(await postgres.createDatabase('opslab_bench_nodes'));
    const ports = Object.fromEntries(await Promise.all(NODES.map(async (id) => [id, await freePort()] as const))) as Record<NodeId, number>;
    const lbPort = await freePort();
    const lb = `http://127.0.0.1:${lbPort}`;
    const start = async (id: NodeId) => {
      const state = join(work, id);
      mkdirSync(state, { recursive: true });
      chmodSync(state, 0o755);
      children.set(id, await spawnServer({
        OPSLAB_NODE_ID: id,
        OPSLAB_HOST: '127.0.0.1',
        OPSLAB_PORT: String(ports[id]),
        OPSLAB_UID_BASE: String(o.uidBase + NODES.indexOf(id) * 1000),
        OPSLAB_UID_COUNT: '1000',
        OPSLAB_STAGING_DIR: join(state, 'staging'),
        OPSLAB_DB: join(state, 'unused.db'),
        OPSLAB_DATABASE_URL: databaseUrl,
        OPSLAB_PUBLIC_ORIGINS: lb,
        OPSLAB_TRUSTED_PROXIES: '127.0.0.1',
        OPSLAB_INSTRUCTOR_TOKEN: TOKEN,
        OPSLAB_LOG_LEVEL: 'warn',
      }));
    };
    // One after another: the first migrates the schema, the others find it made.
    for (const id of NODES) await start(id);
    haproxy = await startTestHaproxy(lbPort, { a: ports['node-a'], b: ports['node-b'], c: ports['node-c'] });
    for (let i = 0; i < 100 && Object.values(await haproxy.states()).some((s) => s !== 'UP'); i++) await sleep(100);

    // 1. The extra hop: arrivals and keystrokes through HAProxy, beside the same straight to node A.
    const direct = `http://127.0.0.1:${ports['node-a']}`;
    const arrive = async (url: string) => {
      const samples: number[] = [];
      const attendees: BenchAttendee[] = [];
      for (let i = 0; i < o.arrivals; i++) {
        const attendee = await BenchAttendee.create(url);
        const began = performance.now();
        await attendee.connect(LESSON);
        await attendee.prompt(60_000);
        samples.push(performance.now() - began);
        attendees.push(attendee);
      }
      return { samples, attendees };
    };
    const viaLb = await arrive(lb);
    const straight = await arrive(direct);
    rows.push({ what: `nodes: arrival → prompt through HAProxy (floor: straight to a node), ${o.arrivals} one after another`, samples: viaLb.samples, floor: straight.samples, target: 'report it' });
    const echoLb = await measureEcho(viaLb.attendees[0]!, o.keys);
    const echoDirect = await measureEcho(straight.attendees[0]!, o.keys);
    rows.push({ what: 'nodes: keystroke → echo through HAProxy (floor: straight to a node)', samples: echoLb, floor: echoDirect, target: 'report it' });
    for (const a of [...viaLb.attendees, ...straight.attendees]) a.close();

    // 2. A dashboard on node A; the room checks on every node.
    const login = await call({ url: lb }, 'POST', '/api/instructor/login', undefined, { token: TOKEN });
    if (login.status !== 200 || !login.cookie) throw new Error(`the instructor could not sign in: ${login.text}`);
    const created = await call({ url: lb }, 'POST', '/api/instructor/events', login.cookie, { title: 'Bench room', lessons: [LESSON], starts: new Date().toISOString(), expected: o.room });
    if (created.status !== 201) throw new Error(`the event could not be made: ${created.text}`);
    const { event } = JSON.parse(created.text) as { event: { id: string; code: string } };
    const room: Array<{ attendee: BenchAttendee; cookie: string; node: string }> = [];
    for (let i = 0; i < o.room; i++) {
      const progress = await call({ url: lb }, 'GET', '/api/progress', undefined);
      const cookie = progress.cookie!;
      await call({ url: lb }, 'POST', '/api/join', cookie, { code: event.code, name: `attendee ${i}` });
      const attendee = BenchAttendee.withCookie(lb, cookie);
      await attendee.connect(LESSON);
      await attendee.prompt(120_000);
      room.push({ attendee, cookie, node: '' });
    }
    // Where each one is: the placement the nodes keep (the node cookie the browser would hold).
    const placements = await fetchPlacements(databaseUrl);
    for (const r of room) r.node = placements.get(r.attendee.id) ?? '';
    const dashboard = openDashboard({ url: direct }, event.id, login.cookie);
    await dashboard.opened;
    const elsewhere = room.filter((r) => r.node !== 'node-a');
    const toDashboard: number[] = [];
    const toResult: number[] = [];
    for (const r of elsewhere) {
      const sent = performance.now();
      await r.attendee.check(STEP);
      toResult.push(performance.now() - sent);
      const id = r.attendee.id;
      for (let i = 0; i < 400 && !(dashboard.attempts.get(id) ?? []).some((row) => row.attempts >= 1); i++) await sleep(5);
      const row = (dashboard.attempts.get(id) ?? []).find((seen) => seen.attempts >= 1);
      if (row) toDashboard.push(row.at - sent);
    }
    dashboard.close();
    rows.push({ what: `nodes: Check on node B or C → its row on node A's dashboard (floor: Check → result), ${toDashboard.length} of ${elsewhere.length}`, samples: toDashboard, floor: toResult, target: 'report it' });

    // 3. Node B dies: its attendees reconnect through HAProxy, as their pages do.
    const victims = room.filter((r) => r.node === 'node-b');
    const killedAt = performance.now();
    children.get('node-b')!.kill('SIGKILL');
    children.delete('node-b');
    const moved = await Promise.all(victims.map(async (r) => {
      r.attendee.close();
      const again = await reconnect(lb, r.cookie, 'node-b', killedAt + 180_000);
      const took = performance.now() - killedAt;
      again.attendee.close();
      return took;
    }));
    if (moved.length > 0) {
      const s = summarize(moved);
      figures.push({ what: `nodes: SIGKILL of a node → its ${moved.length} attendees at a prompt on the survivors (a new sandbox each, their progress kept)`, value: `p50 ${Math.round(s.p50)} ms, max ${Math.round(s.max)} ms`, target: 'seconds, not their work' });
    }
    for (const r of room) r.attendee.close();

    // 4. What the room says it can take: one node, then the two left (memory is this machine's, shared).
    const capacities = await fetchCapacities(databaseUrl);
    const one = capacities.get('node-a');
    const survivors = [...capacities.entries()].filter(([id]) => id !== 'node-b').map(([, c]) => c);
    if (one) {
      const sum = (profile: string) => survivors.reduce((n, c) => n + (c.free[profile] ?? 0), 0);
      figures.push({
        what: 'nodes: Galera (cluster profile) sandboxes the room says it can still start (the nodes\' announced capacity) — one node, then the two left after the kill',
        value: `${one.free.cluster ?? 0} → ${sum('cluster')}`,
        target: 'report it',
        note: 'each node counts this machine\'s available memory: on one machine the sum overstates; on separate machines each brings its own',
      });
      figures.push({ what: 'nodes: network boots at once (PXE turns: one per node)', value: `1 → ${survivors.length}`, target: 'report it', note: 'each node runs its own turn queue; here they share two cores' });
    }
  } finally {
    for (const child of children.values()) child.kill('SIGTERM');
    await Promise.all([...children.values()].map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)));
    await haproxy?.stop();
    await postgres.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return { rows, figures };
}

/** The room's tables, read as an operator would (psql): where each attendee is, what each node announced. */
async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

async function fetchPlacements(url: string): Promise<Map<string, string>> {
  return new Map((await query<{ attendee: string; node_id: string }>(url, 'SELECT attendee, node_id FROM placements')).map((r) => [r.attendee, r.node_id]));
}

async function fetchCapacities(url: string): Promise<Map<string, NodeCapacity>> {
  return new Map((await query<{ id: string; capacity: string }>(url, 'SELECT id, capacity FROM nodes')).map((r) => [r.id, JSON.parse(r.capacity) as NodeCapacity]));
}
