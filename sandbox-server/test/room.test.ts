/**
 * A room bigger than one machine, on this machine: a PostgreSQL and an HAProxy the test starts
 * itself (postgres-server.ts, haproxy-server.ts with deploy/haproxy/haproxy.cfg) and three Opslab
 * nodes as their own processes (disjoint uid ranges, ports, staging folders). 60 attendees arrive
 * through the balancer and pass a step; the dashboard on node A sees the checks made on B and C;
 * node B is killed with SIGKILL mid-lesson, and its attendees reconnect through the balancer to a
 * prompt on another node with their passed step replayed; nothing recorded is lost; B restarts,
 * rejoins, and takes nobody back.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { DashboardEvent } from '../../protocol/workshop.ts';
import { NODE_COOKIE } from '../src/placement.ts';
import { startTestHaproxy, type TestHaproxy } from './haproxy-server.ts';
import { TestClient } from './helpers.ts';
import { call, EventStream, gridOf } from './http-client.ts';
import { startTestPostgres, type TestPostgres } from './postgres-server.ts';
import { freePort, spawnServer } from './server-process.ts';

const ATTENDEES = 60;
const NODES = ['node-a', 'node-b', 'node-c'] as const;
type NodeId = (typeof NODES)[number];
const TOKEN = 'a-room-of-three-nodes';
const UID_BASE = Number(process.env.OPSLAB_TEST_UID_BASE ?? 700_000) + 50_000 + (process.pid % 10) * 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let postgres: TestPostgres;
let haproxy: TestHaproxy;
let databaseUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'opslab-room-'));
const ports = {} as Record<NodeId, number>;
const metricsPorts = {} as Record<NodeId, number>;
const children = {} as Partial<Record<NodeId, ChildProcess>>;
let lb: { url: string };

function startNode(id: NodeId): Promise<ChildProcess> {
  const i = NODES.indexOf(id);
  const state = join(dir, id);
  mkdirSync(state, { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(state, 0o755);
  return spawnServer({
    OPSLAB_NODE_ID: id,
    OPSLAB_HOST: '127.0.0.1',
    OPSLAB_PORT: String(ports[id]),
    OPSLAB_METRICS_PORT: String(metricsPorts[id]),
    OPSLAB_UID_BASE: String(UID_BASE + i * 1000),
    OPSLAB_UID_COUNT: '1000',
    OPSLAB_STAGING_DIR: join(state, 'staging'),
    OPSLAB_DB: join(state, 'unused.db'),
    OPSLAB_DATABASE_URL: databaseUrl,
    OPSLAB_PUBLIC_ORIGINS: lb.url,
    OPSLAB_TRUSTED_PROXIES: '127.0.0.1',
    OPSLAB_INSTRUCTOR_TOKEN: TOKEN,
    OPSLAB_LOG_LEVEL: 'warn',
  }).then((child) => (children[id] = child));
}

before(async () => {
  postgres = await startTestPostgres();
  databaseUrl = postgres.url(await postgres.createDatabase('opslab_room'));
  for (const id of NODES) ports[id] = await freePort();
  for (const id of NODES) metricsPorts[id] = await freePort();
  const lbPort = await freePort();
  lb = { url: `http://127.0.0.1:${lbPort}` };
  // One after another: the first migrates, the others find the schema made.
  for (const id of NODES) await startNode(id);
  haproxy = await startTestHaproxy(lbPort, { a: ports['node-a'], b: ports['node-b'], c: ports['node-c'] });
  for (let i = 0; i < 100 && Object.values(await haproxy.states()).some((s) => s !== 'UP'); i++) await sleep(100);
  assert.deepEqual(await haproxy.states(), { 'node-a': 'UP', 'node-b': 'UP', 'node-c': 'UP' });
});

after(async () => {
  for (const child of Object.values(children)) child?.kill('SIGTERM');
  await Promise.all(Object.values(children).map((child) => child && child.exitCode === null && new Promise((resolve) => child.once('exit', resolve))));
  await haproxy?.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Attendee {
  name: string;
  cookie: string;
  node?: string;
  client?: TestClient;
}

const cookieHeader = (a: Attendee) => (a.node ? `${a.cookie}; ${NODE_COOKIE}=${a.node}` : a.cookie);

/** A terminal through the balancer, as the page's socket opens it; follows the node cookie the node sets. */
async function connect(a: Attendee, timeoutMs = 60_000): Promise<TestClient> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const client = new TestClient(lb.url, cookieHeader(a), { helloInUrl: JSON.stringify({ type: 'hello', v: 1, lesson: 'getting-started', terminal: 'main', cols: 80, rows: 24 }) });
    const answer = await new Promise<{ status: number; setCookie?: string[] }>((resolve) => {
      client.ws.once('upgrade', (res) => resolve({ status: 101, ...(res.headers['set-cookie'] ? { setCookie: res.headers['set-cookie'] } : {}) }));
      client.ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, ...(res.headers['set-cookie'] ? { setCookie: res.headers['set-cookie'] } : {}) });
      });
      client.ws.once('error', () => resolve({ status: 0 }));
    });
    const node = answer.setCookie?.map((c) => new RegExp(`^${NODE_COOKIE}=([^;]+)`).exec(c)?.[1]).find(Boolean);
    if (node) a.node = node;
    if (answer.status === 101) return client;
    await client.close().catch(() => undefined);
    // Refused (another node holds them: the cookie is corrected) or the balancer found no node yet: again, as the page does.
    if (Date.now() > deadline) throw new Error(`${a.name}: no terminal after ${attempt + 1} tries (last answer ${answer.status})`);
    await sleep(Math.min(2000, 250 * 2 ** attempt));
  }
}

test('a room of three nodes: one dashboard sees all; a node killed mid-lesson costs its attendees seconds, not their work', { timeout: 600_000 }, async () => {
  // The instructor signs in and makes the event through the balancer (any node answers: one store).
  const login = await call(lb, 'POST', '/api/instructor/login', { body: { token: TOKEN } });
  assert.equal(login.status, 200, login.body);
  const instructor = String(login.headers['set-cookie']).split(';')[0]!;
  const created = await call(lb, 'POST', '/api/instructor/events', { cookie: instructor, body: { title: 'Room', lessons: ['getting-started'], starts: new Date().toISOString(), expected: ATTENDEES } });
  assert.equal(created.status, 201, created.body);
  const event = (created.json as { event: { id: string; code: string } }).event;

  // The dashboard is on node A, directly (its cookie is good there: the room's key is shared).
  const nodeA = { url: `http://127.0.0.1:${ports['node-a']}` };
  const dashboard = new EventStream<DashboardEvent>(nodeA, `/api/instructor/events/${event.id}/stream`, instructor);
  await dashboard.until((events) => events.some((e) => e.type === 'snapshot'), 'the first snapshot');

  // 60 attendees arrive through the balancer, join, open their terminal and pass the first step.
  const people: Attendee[] = [];
  for (let i = 0; i < ATTENDEES; i++) {
    const progress = await call(lb, 'GET', '/api/progress');
    const cookie = String(progress.headers['set-cookie']).split(';')[0]!;
    const joined = await call(lb, 'POST', '/api/join', { cookie, body: { code: event.code, name: `Attendee ${String(i).padStart(2, '0')}` } });
    assert.equal(joined.status, 200, joined.body);
    people.push({ name: `Attendee ${i}`, cookie });
  }
  await Promise.all(people.map(async (a) => {
    a.client = await connect(a);
    await a.client.until(() => a.client!.statuses.some((s) => s.state === 'ready'), `${a.name}'s prompt`, 300_000);
    assert.equal((await a.client.solve('create-file')).passed, true);
  }));
  const byNode = Object.fromEntries(NODES.map((id) => [id, people.filter((a) => a.node === id).length]));
  assert.ok(NODES.every((id) => byNode[id]! > 0), `the room is spread over the three nodes: ${JSON.stringify(byNode)}`);

  // Node A's dashboard shows every check, those made on B and C included (LISTEN/NOTIFY).
  const ids = people.map((a) => a.cookie.split('=')[1]!.split('.')[0]!);
  await dashboard.until((events) => {
    const { rows } = gridOf(events);
    return ids.every((id) => rows.get(id)?.cells['create-file']?.state === 'passed');
  }, 'every attendee\'s first step passed on node A\'s grid', 60_000);
  const rows = gridOf(dashboard.events).rows;
  assert.deepEqual(new Set(ids.map((id) => rows.get(id)?.node)), new Set(NODES), 'each row names its attendee\'s node (shadowing goes there)');

  // Node B dies mid-lesson. One of its attendees stepped away just before (their page closed): nobody
  // takes them over, and they come back to B once it is back.
  const onB = people.filter((a) => a.node === 'node-b');
  const away = onB.pop()!;
  await away.client!.close();
  const awayId = away.cookie.split('=')[1]!.split('.')[0]!;
  const killedAt = Date.now();
  children['node-b']!.kill('SIGKILL');
  delete children['node-b'];
  // Its attendees' pages reconnect, through the balancer, with the cookie that still names B.
  const prompts = await Promise.all(onB.map(async (a) => {
    await a.client!.until(() => a.client!.closeCode !== undefined, `${a.name}'s socket closing with its node`, 30_000);
    const client = (a.client = await connect(a));
    await client.until(() => client.statuses.some((s) => s.state === 'ready') && client.progress !== undefined, `${a.name}'s prompt on another node`, 120_000);
    assert.equal(client.progress?.steps['create-file']?.status, 'solved', `${a.name}'s passed step replayed`);
    assert.notEqual(a.node, 'node-b');
    return Date.now() - killedAt;
  }));
  prompts.sort((x, y) => x - y);
  // Each node's /metrics (Prometheus' text format) counts what it took over and what it holds.
  const metric = async (id: NodeId, name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPorts[id]}/metrics`)).text();
    return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `)).reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  };
  assert.equal((await metric('node-a', 'opslab_takeovers_total')) + (await metric('node-c', 'opslab_takeovers_total')), onB.length, 'every takeover counted by the node that made it');
  assert.equal((await metric('node-a', 'opslab_sandboxes')) + (await metric('node-c', 'opslab_sandboxes')), ATTENDEES - 1, 'the room\'s sandboxes (but the one who stepped away) on the two survivors');
  assert.equal(await metric('node-a', 'opslab_node_accepting'), 1);
  assert.ok((await metric('node-a', 'opslab_sandbox_memory_bytes')) > 0, 'the memory charged to its sandboxes');
  assert.ok((await metric('node-a', 'opslab_sandbox_cpu_seconds_total')) > 0, 'the CPU its sandboxes used');
  const checker = people.find((a) => a !== away)!;
  assert.equal((await checker.client!.check('read-header')).passed, false);
  assert.equal((await metric('node-a', 'opslab_check_seconds_count')) + (await metric('node-c', 'opslab_check_seconds_count')), 1, 'a Check (not a solve) is timed');
  const exposed = await (await fetch(`http://127.0.0.1:${metricsPorts['node-c']}/metrics`)).text();
  for (const name of ['opslab_terminal_input_backlog_bytes', 'opslab_terminals_output_paused', 'opslab_turn_queue_length', 'opslab_sandbox_start_seconds_bucket', 'opslab_process_nodejs_eventloop_lag_seconds']) {
    assert.match(exposed, new RegExp(`^${name}[{ ]`, 'm'), `/metrics has ${name}`);
  }
  assert.ok((await metric('node-c', 'opslab_store_seconds_count')) > 0, 'the store\'s latency is measured');
  console.log(`# ${onB.length} attendees of the killed node: a prompt elsewhere after p50 ${prompts[Math.floor(prompts.length / 2)]} ms, max ${prompts.at(-1)} ms`);

  // Nothing recorded is lost: every pass is in the store.
  const store = new pg.Client({ connectionString: databaseUrl });
  await store.connect();
  try {
    const passed = await store.query("SELECT COUNT(*)::int AS n FROM step_progress WHERE lesson = 'getting-started' AND step = 'create-file' AND status <> 'failed'");
    assert.equal(passed.rows[0].n, ATTENDEES);
    const placed = await store.query("SELECT attendee FROM placements WHERE node_id = 'node-b'");
    assert.deepEqual(placed.rows.map((r) => r.attendee), [awayId], 'on the dead node, only the attendee nobody took over');

    // B comes back: it rejoins, and its former attendees stay where they are now.
    await startNode('node-b');
    for (let i = 0; i < 100 && (await haproxy.states())['node-b'] !== 'UP'; i++) await sleep(100);
    assert.equal((await haproxy.states())['node-b'], 'UP', 'B is back in the balancer');
    const nodes = await store.query("SELECT id, state FROM nodes WHERE id = 'node-b'");
    assert.equal(nodes.rows[0].state, 'up');
    // One of them opens a second page with the old cookie naming B: B sends them on, it does not take them.
    const moved = onB[0]!;
    const now = moved.node;
    const stale = { ...moved, node: 'node-b' };
    const second = await connect(stale);
    assert.equal(stale.node, now, 'the node cookie was corrected to the node that holds them');
    await second.close();
    const after = await store.query("SELECT attendee FROM placements WHERE node_id = 'node-b'");
    assert.deepEqual(after.rows.map((r) => r.attendee), [awayId], 'a node that comes back takes nobody back mid-lesson');
    // The one who stepped away comes back to B, their own node, with their step replayed there.
    const back = (away.client = await connect(away));
    assert.equal(away.node, 'node-b');
    await back.until(() => back.statuses.some((s) => s.state === 'ready') && back.progress !== undefined, `${away.name}'s prompt on B`, 120_000);
    assert.equal(back.progress?.steps['create-file']?.status, 'solved');
    assert.equal(await metric('node-b', 'opslab_sandboxes'), 1, 'their sandbox is on B');
  } finally {
    await store.end();
  }
  dashboard.close();
  await Promise.all(people.map((a) => a.client?.close()));
  for (const id of NODES) assert.equal(children[id]?.exitCode, null, `${id} still runs: nothing in this room stopped a node but the kill`);
});
