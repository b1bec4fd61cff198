/**
 * Workshop mode against a real server: an event with 30 attendees over real WebSockets and real
 * sandboxes (join, checks, hands, a broadcast) and what the dashboard's stream receives; who may
 * reach the instructor's routes; a restart mid-event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { decodeServer, encodeClient } from '../../protocol/messages.ts';
import type { AttendeeEventState, DashboardEvent, DashboardSnapshot, GridRow, HelpRequest, ShadowServerMessage } from '../../protocol/workshop.ts';
import { loadCatalog } from '../../lesson-model/catalog.ts';
import { ENDED_MESSAGE } from '../src/workshop.ts';
import { eventually, newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';
import { call, EventStream, gridOf } from './http-client.ts';

async function signIn(server: TestServer): Promise<string> {
  const answer = await call(server, 'POST', '/api/instructor/login', { body: { token: server.instructorToken } });
  assert.equal(answer.status, 200, answer.body);
  const cookie = String(answer.headers['set-cookie']).split(';')[0]!;
  assert.match(cookie, /^opslab_instructor=\d+\.[\w-]+$/);
  return cookie;
}

describe('workshop mode', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ maxSandboxes: 60, maxSandboxesPerAddress: 60 });
  });
  after(async () => {
    await server?.stop();
  });

  test('attendees and strangers cannot reach any instructor route', async () => {
    const attendee = await newAttendee(server.url);
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/instructor/events'],
      ['POST', '/api/instructor/events', { title: 'x', lessons: ['getting-started'], starts: '2026-12-01T09:00', expected: 5 }],
      ['GET', '/api/instructor/events/0123456789ab'],
      ['GET', '/api/instructor/events/0123456789ab/stream'],
      ['POST', '/api/instructor/events/0123456789ab/broadcast', { text: 'hi' }],
      ['POST', '/api/instructor/events/0123456789ab/clock', { action: 'end' }],
      ['GET', '/api/instructor/events/0123456789ab/export.csv'],
    ];
    const forged = [
      undefined,
      attendee, // an attendee's own, valid cookie
      `opslab_instructor=${Math.floor(Date.now() / 1000)}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
      `opslab_instructor=${attendee.split('=')[1]}`, // an attendee's signature under the instructor's name
      'opslab_instructor=../../etc',
    ];
    for (const [method, path, body] of routes) {
      for (const cookie of forged) {
        const answer = await call(server, method, path, { ...(cookie ? { cookie } : {}), ...(body ? { body } : {}) });
        assert.equal(answer.status, 401, `${method} ${path} with ${cookie ?? 'no cookie'}: ${answer.body}`);
        assert.match(answer.body, /instructors only/);
      }
    }
    const wrong = await call(server, 'POST', '/api/instructor/login', { body: { token: 'not-the-token' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['set-cookie'], undefined);
    // A login from another site's page is refused before the token is even looked at.
    const crossSite = await call(server, 'POST', '/api/instructor/login', { body: { token: server.instructorToken }, origin: 'https://evil.example' });
    assert.equal(crossSite.status, 403);
  });

  test('an event of 30 attendees: joins, checks, hands and a broadcast reach the dashboard', { timeout: 600_000 }, async () => {
    const instructor = await signIn(server);
    const created = await call(server, 'POST', '/api/instructor/events', {
      cookie: instructor,
      body: { title: 'Ops Day', lessons: ['getting-started', 'zerovm'], starts: new Date(Date.now() - 60_000).toISOString(), expected: 30, minutes: 30 },
    });
    assert.equal(created.status, 201, created.body);
    const { event, warnings } = created.json as { event: { id: string; code: string }; warnings: string[] };
    assert.match(event.code, /^[2-9A-HJ-NP-Z]{6}$/);
    assert.match(warnings[0] ?? '', /add up to 25 minutes .*not the event's 30/);

    const dashboard = new EventStream<DashboardEvent>(server, `/api/instructor/events/${event.id}/stream`, instructor);
    await dashboard.until((e) => e[0]?.type === 'snapshot', 'the first snapshot');
    assert.equal(dashboard.status, 200);
    assert.deepEqual(gridOf(dashboard.events).snapshot!.steps.map((s) => s.id), ['create-file', 'start-server', 'read-header', 'stop-server']);

    // A wrong code and an empty name are refused in words an attendee can act on.
    const stranger = await newAttendee(server.url);
    // Not in an event: the stream answers 204 (a browser's EventSource stops) and holds nothing open.
    assert.equal((await call(server, 'GET', '/api/event/stream', { cookie: stranger })).status, 204);
    const wrongCode = await call(server, 'POST', '/api/join', { cookie: stranger, body: { code: 'AAA-AAA', name: 'x' } });
    assert.equal(wrongCode.status, 404);
    assert.match(wrongCode.body, /No event has that code/);
    const noName = await call(server, 'POST', '/api/join', { cookie: stranger, body: { code: event.code, name: '   ' } });
    assert.equal(noName.status, 400);

    const N = 30;
    const people = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const cookie = await newAttendee(server.url);
        const code = `${event.code.slice(0, 3).toLowerCase()} ${event.code.slice(3)}`; // as someone types it
        const joined = await call(server, 'POST', '/api/join', { cookie, body: { code, name: `Attendee ${String(i).padStart(2, '0')}` } });
        assert.equal(joined.status, 200, joined.body);
        assert.equal((joined.json as { url: string }).url, '/lessons/getting-started/');
        const page = new EventStream<AttendeeEventState | null>(server, '/api/event/stream', cookie);
        return { cookie, page, id: cookie.split('=')[1]!.split('.')[0]!, name: `Attendee ${String(i).padStart(2, '0')}` };
      }),
    );
    await dashboard.until((e) => {
      const { rows } = gridOf(e);
      return rows.size === N && [...rows.values()].every((r) => r.online);
    }, 'all 30 attendees online on the grid');

    // Every attendee opens the lesson's terminal; a third pass the first step by hand, a third fail
    // it three times (stuck), a third have it solved for them.
    const terminals = await Promise.all(
      people.map(async (p) => {
        const client = new TestClient(server.url, p.cookie);
        await client.hello('getting-started');
        await client.ready();
        return client;
      }),
    );
    await Promise.all(
      terminals.map(async (client, i) => {
        if (i % 3 === 0) {
          client.type("echo 'Hello, Opslab!' > ~/hello.txt\r");
          await client.untilOutput(/hello\.txt\r?\n.*[#$] $/s);
          assert.equal((await client.check('create-file')).passed, true);
        } else if (i % 3 === 1) {
          for (let k = 0; k < 3; k++) assert.equal((await client.check('create-file')).passed, false);
        } else assert.equal((await client.solve('create-file')).passed, true);
      }),
    );
    await dashboard.until((e) => {
      const { rows } = gridOf(e);
      return people.every((p, i) => {
        const cell = rows.get(p.id)?.cells['create-file'];
        return i % 3 === 1 ? cell?.failuresInARow === 3 : cell?.state === 'passed';
      });
    }, 'every check on the grid');
    const { rows } = gridOf(dashboard.events);
    people.forEach((p, i) => {
      const row = rows.get(p.id)!;
      const cell = row.cells['create-file']!;
      if (i % 3 === 0) assert.equal(cell.how, 'check');
      if (i % 3 === 2) assert.equal(cell.how, 'solve');
      if (i % 3 === 1) {
        assert.equal(cell.state, 'failed');
        assert.match(cell.lastFeedback ?? '', /no ~\/hello\.txt/);
        assert.match(row.stuck ?? '', /3 failed checks in a row on "Create a file"/);
      } else assert.equal(row.currentStep, 'start-server');
    });

    // Hands: five go up, oldest first in the queue; the instructor goes to the first; that attendee
    // then passes, which counts as "with help".
    const hands = people.filter((_, i) => i % 3 === 1).slice(0, 5);
    for (const [k, p] of hands.entries()) {
      const raised = await call(server, 'POST', '/api/event/hand', { cookie: p.cookie, body: { text: `stuck ${k}`, lesson: 'getting-started', step: 'create-file' } });
      assert.equal(raised.status, 200, raised.body);
    }
    await dashboard.until((e) => gridOf(e).help.length === 5, 'five hands in the queue');
    assert.deepEqual(gridOf(dashboard.events).help.map((h) => h.name), hands.map((p) => p.name));
    const first = gridOf(dashboard.events).help[0]!;
    const onMyWay = await call(server, 'POST', `/api/instructor/events/${event.id}/help/${first.id}`, { cookie: instructor, body: { state: 'on-the-way' } });
    assert.equal(onMyWay.status, 200, onMyWay.body);
    await hands[0]!.page.until((e) => e.at(-1)?.hand?.state === 'on-the-way', 'the attendee sees the instructor is on the way');
    const helped = terminals[people.indexOf(hands[0]!)]!;
    helped.type("echo 'Hello, Opslab!' > ~/hello.txt\r");
    await helped.untilOutput(/hello\.txt\r?\n.*[#$] $/s);
    assert.equal((await helped.check('create-file')).passed, true);
    await dashboard.until((e) => gridOf(e).rows.get(hands[0]!.id)?.cells['create-file']?.how === 'help', 'the pass shown as with help');
    // Another attendee cannot answer a hand: the route is the instructor's.
    const forgedHelp = await call(server, 'POST', `/api/instructor/events/${event.id}/help/${first.id}`, { cookie: people[0]!.cookie, body: { state: 'resolved' } });
    assert.equal(forgedHelp.status, 401);

    // One attendee cannot hold streams without end: their ninth page is refused, in words.
    const extra = Array.from({ length: 7 }, () => new EventStream<AttendeeEventState | null>(server, '/api/event/stream', people[3]!.cookie));
    await Promise.all(extra.map((s) => s.until((e) => e.length > 0, 'an extra page')));
    const ninth = await call(server, 'GET', '/api/event/stream', { cookie: people[3]!.cookie });
    assert.equal(ninth.status, 429);
    assert.match(ninth.body, /8 pages of yours/);
    for (const s of extra) s.close();

    // A broadcast reaches every page; a hint only its attendee's.
    assert.equal((await call(server, 'POST', `/api/instructor/events/${event.id}/broadcast`, { cookie: instructor, body: { text: 'Ten minutes left' } })).status, 200);
    await Promise.all(people.map((p) => p.page.until((e) => e.at(-1)?.messages.at(-1)?.text === 'Ten minutes left', 'the broadcast')));
    assert.equal((await call(server, 'POST', `/api/instructor/events/${event.id}/hint`, { cookie: instructor, body: { attendee: people[1]!.id, text: 'ls -l ~' } })).status, 200);
    await people[1]!.page.until((e) => e.at(-1)?.messages.at(-1)?.personal === true, 'the hint');
    assert.ok(people[4]!.page.events.every((s) => s?.messages.every((m) => m.text !== 'ls -l ~')), 'a hint reached someone else');

    // The export has every attendee × step of both lessons, the results as the grid shows them.
    const csv = await call(server, 'GET', `/api/instructor/events/${event.id}/export.csv`, { cookie: instructor });
    assert.equal(csv.status, 200);
    const lines = csv.body.trim().split('\r\n');
    const steps = loadCatalog(server.config.lessonsDir).filter((l) => ['getting-started', 'zerovm'].includes(l.slug)).reduce((sum, l) => sum + l.steps.length, 0);
    assert.equal(lines.length, 1 + N * steps); // the header, then every attendee × every step of both lessons
    assert.ok(lines.some((l) => l.includes(hands[0]!.id) && l.includes(',create-file,passed with help,4,')), 'the helped pass after 3 failures');
    assert.ok(lines.some((l) => l.includes(people[2]!.id) && l.includes(',create-file,solved,1,')));

    await Promise.all(terminals.map((t) => t.close()));
    for (const p of people) p.page.close();
    await dashboard.until((e) => [...gridOf(e).rows.values()].every((r) => !r.online), 'everyone offline once their pages close');
    dashboard.close();
  });

  test('a restart mid-event loses nothing: the event, its paused clock, the queue, every attendee', { timeout: 300_000 }, async () => {
    let instructor = await signIn(server);
    const created = await call(server, 'POST', '/api/instructor/events', {
      cookie: instructor,
      body: { title: 'Restart', lessons: ['getting-started'], starts: new Date().toISOString(), expected: 2 },
    });
    const { event } = created.json as { event: { id: string; code: string } };
    const ann = await newAttendee(server.url);
    assert.equal((await call(server, 'POST', '/api/join', { cookie: ann, body: { code: event.code, name: 'Ann' } })).status, 200);
    const terminal = new TestClient(server.url, ann);
    await terminal.hello('getting-started');
    await terminal.ready();
    assert.equal((await terminal.solve('create-file')).passed, true);
    await terminal.close();
    await call(server, 'POST', '/api/event/hand', { cookie: ann, body: { text: 'my server will not start' } });
    assert.equal((await call(server, 'POST', `/api/instructor/events/${event.id}/clock`, { cookie: instructor, body: { action: 'pause' } })).status, 200);
    const before = (await call(server, 'GET', `/api/instructor/events/${event.id}`, { cookie: instructor })).json as DashboardSnapshot;
    assert.ok(before.event.clock.pausedAt);

    const dir = server.dir;
    await server.stop(true);
    server = await startTestServer({ uidBase: server.config.uidBase, maxSandboxes: 60, maxSandboxesPerAddress: 60 }, dir);

    // The instructor's cookie still holds (same key, same token); so does the attendee's.
    const after = await call(server, 'GET', `/api/instructor/events/${event.id}`, { cookie: instructor });
    assert.equal(after.status, 200, after.body);
    const snapshot = after.json as DashboardSnapshot;
    assert.deepEqual(snapshot.event.clock, before.event.clock);
    assert.deepEqual(snapshot.help.map((h) => [h.name, h.text, h.state]), [['Ann', 'my server will not start', 'waiting']]);
    assert.equal(snapshot.rows[0]!.cells['create-file']!.how, 'solve');
    const state = (await call(server, 'GET', '/api/event', { cookie: ann })).json as AttendeeEventState;
    assert.equal(state.name, 'Ann');
    assert.equal(state.hand?.state, 'waiting');
    const again = new TestClient(server.url, ann);
    await again.hello('getting-started');
    await again.ready();
    assert.deepEqual(again.statuses.find((s) => s.restoredSteps)?.restoredSteps, ['create-file']);
    await again.close();
    instructor = await signIn(server);
    assert.equal((await call(server, 'POST', `/api/instructor/events/${event.id}/clock`, { cookie: instructor, body: { action: 'end' } })).status, 200);
    const joinEnded = await call(server, 'POST', '/api/join', { cookie: await newAttendee(server.url), body: { code: event.code, name: 'Late' } });
    assert.equal(joinEnded.status, 409);
  });

  test('shadowing: the instructor sees the terminal, types only after the attendee allows it, and the attendee can end it', { timeout: 120_000 }, async () => {
    const instructor = await signIn(server);
    const { event } = (await call(server, 'POST', '/api/instructor/events', { cookie: instructor, body: { title: 'Shadow', lessons: ['getting-started'], starts: new Date().toISOString(), expected: 2 } })).json as { event: { id: string; code: string } };
    const cara = await newAttendee(server.url);
    await call(server, 'POST', '/api/join', { cookie: cara, body: { code: event.code, name: 'Cara' } });
    const terminal = new TestClient(server.url, cara);
    await terminal.hello('getting-started', 'main', 91, 27);
    await terminal.ready();
    terminal.type('echo before-$((6*7))\r');
    await terminal.untilOutput(/before-42/);
    const attendee = cara.split('=')[1]!.split('.')[0]!;
    const query = `event=${event.id}&attendee=${attendee}&lesson=getting-started&terminal=main`;
    const wsUrl = `${server.url.replace('http', 'ws')}/ws/shadow?${query}`;

    // Only an instructor's cookie opens it: none, an attendee's own, a forged one are refused.
    for (const cookie of [undefined, cara, `opslab_instructor=${Math.floor(Date.now() / 1000)}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`]) {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(wsUrl, { headers: { origin: server.url, ...(cookie ? { cookie } : {}) } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
      assert.equal(status, 401, `shadowing with ${cookie ?? 'no cookie'}`);
    }

    let seen = '';
    const control: ShadowServerMessage[] = [];
    const shadow = new WebSocket(wsUrl, { headers: { origin: server.url, cookie: instructor } });
    shadow.binaryType = 'nodebuffer';
    shadow.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const message = decodeServer(new Uint8Array(data));
        if (message.op === 'output') seen += Buffer.from(message.data).toString('utf8');
      } else control.push(JSON.parse(data.toString('utf8')) as ShadowServerMessage);
    });
    const until = async (what: string, predicate: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen ${JSON.stringify(seen.slice(-300))}, control ${JSON.stringify(control)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // The attendee's size, then the scrollback, then the live stream.
    await until('the size and the scrollback', () => control.some((m) => m.type === 'size') && seen.includes('before-42'));
    assert.deepEqual(control[0], { type: 'size', cols: 91, rows: 27 });
    const state = () => call(server, 'GET', '/api/event', { cookie: cara }).then((a) => a.json as AttendeeEventState);
    assert.deepEqual({ ...(await state()).shadow, id: 0 }, { lesson: 'getting-started', terminal: 'main', keyboard: 'none', id: 0 });
    terminal.type('echo live-$((2*3))\r');
    await until('the live output', () => seen.includes('live-6'));

    // Keys before the attendee's yes are dropped; asking is not allowing.
    shadow.send(encodeClient({ op: 'input', data: new TextEncoder().encode('echo sneaky-$((1+1))\r') }));
    shadow.send(JSON.stringify({ type: 'request-keyboard' }));
    await until('the request acknowledged', () => control.some((m) => m.type === 'keyboard' && m.keyboard === 'requested'));
    assert.equal((await state()).shadow?.keyboard, 'requested');
    terminal.type('echo after-$((3+3))\r');
    await terminal.untilOutput(/after-6/);
    assert.doesNotMatch(terminal.output, /sneaky-2/);

    const shadowId = (await state()).shadow!.id;
    const stale = await call(server, 'POST', '/api/event/shadow', { cookie: cara, body: { allow: true, id: shadowId + 1000 } });
    assert.equal(stale.status, 409, 'a yes to another shadowing session than the one shown gives nothing');
    assert.match(stale.body, /That shadowing session is over/);
    const allowed = await call(server, 'POST', '/api/event/shadow', { cookie: cara, body: { allow: true, id: shadowId } });
    assert.equal(allowed.status, 200, allowed.body);
    await until('the keyboard given', () => control.some((m) => m.type === 'keyboard' && m.keyboard === 'allowed'));
    shadow.send(encodeClient({ op: 'input', data: new TextEncoder().encode('echo driven-$((4*4))\r') }));
    await terminal.untilOutput(/driven-16/);

    // Another attendee cannot end or answer it; Cara can.
    const other = await newAttendee(server.url);
    assert.equal((await call(server, 'POST', '/api/event/shadow', { cookie: other, body: { allow: true, id: shadowId } })).status, 409);
    const closed = new Promise<number>((resolve) => shadow.once('close', resolve));
    assert.equal((await call(server, 'DELETE', '/api/event/shadow', { cookie: cara })).status, 200);
    await closed;
    assert.deepEqual(control.at(-1), { type: 'ended', reason: 'the attendee ended it' });
    assert.equal((await state()).shadow, undefined);
    await terminal.close();
  });
});

describe('the warm pool of an event', () => {
  // Each look is an HTTP request to the dashboard: fewer of them, and a pool that fills slowly under load.
  const asking = { timeoutMs: 90_000, everyMs: 200 };

  test('fills for the room\'s lesson from the start − 5 min (or "warm up now"), shrinks as attendees arrive, follows the next lesson', { timeout: 300_000 }, async () => {
    const server = await startTestServer();
    try {
      const instructor = await signIn(server);
      const create = async (starts: Date, expected: number) =>
        ((await call(server, 'POST', '/api/instructor/events', { cookie: instructor, body: { title: 'Warm', lessons: ['getting-started', 'zerovm'], starts: starts.toISOString(), expected } })).json as { event: { id: string; code: string } }).event;
      const warm = async (id: string) => ((await call(server, 'GET', `/api/instructor/events/${id}`, { cookie: instructor })).json as DashboardSnapshot).warm;

      // Two hours ahead: nothing is made yet; "warm up now" starts it.
      const later = await create(new Date(Date.now() + 2 * 3600_000), 2);
      assert.deepEqual(await warm(later.id).then((w) => [w.active, w.ready, w.target]), [false, 0, 0]);
      const now = await call(server, 'POST', `/api/instructor/events/${later.id}/warm`, { cookie: instructor, body: {} });
      assert.equal(now.status, 200, now.body);
      await eventually(async () => (await warm(later.id)).ready === 2, 'the pool filled for the early event: ceil(0.7 × 2) = 2', asking);

      // An event starting in a minute is in its window: 0.7 × 4 → 3 more for the same lesson.
      const soon = await create(new Date(Date.now() + 60_000), 4);
      await eventually(async () => (await warm(soon.id)).ready === 5, 'the pool filled for both: 2 + 3', asking);
      assert.equal((await warm(soon.id)).target, 5);
      assert.equal(server.sessions.pool.waiting().filter((w) => w.lesson === 'getting-started').length, 5);

      // An attendee arrives and takes one: the pool does not make theirs again.
      const ann = await newAttendee(server.url);
      await call(server, 'POST', '/api/join', { cookie: ann, body: { code: soon.code, name: 'Ann' } });
      const terminal = new TestClient(server.url, ann);
      await terminal.hello('getting-started');
      await terminal.ready();
      await eventually(async () => (await warm(soon.id)).target === 4, 'the target less Ann', asking);
      assert.equal((await warm(soon.id)).ready, 4);

      // The room moves on: getting-started's pooled sandboxes of this event go, zerovm's are made.
      await call(server, 'POST', `/api/instructor/events/${soon.id}/clock`, { cookie: instructor, body: { action: 'next' } });
      await eventually(
        async () => {
          const w = await warm(soon.id);
          return w.lesson === 'zerovm' && w.ready === 3 && w.target === 3;
        },
        'zerovm warm',
        asking,
      );
      await eventually(() => server.sessions.pool.waiting().filter((w) => w.lesson === 'getting-started').length === 2, 'getting-started back to the early event\'s 2', asking);
      await terminal.close();
    } finally {
      await server.stop();
    }
  });

  test('stops short at the memory reserve and says so', { timeout: 120_000 }, async () => {
    const server = await startTestServer({ poolMemoryReserveBytes: 2 ** 50 }); // a petabyte: never available
    try {
      const instructor = await signIn(server);
      const created = await call(server, 'POST', '/api/instructor/events', { cookie: instructor, body: { title: 'Big', lessons: ['getting-started'], starts: new Date().toISOString(), expected: 10 } });
      const { event } = created.json as { event: { id: string } };
      await eventually(async () => ((await call(server, 'GET', `/api/instructor/events/${event.id}`, { cookie: instructor })).json as DashboardSnapshot).warm.memoryBound, 'the pool to say it is bound by memory', asking);
      const { warm } = (await call(server, 'GET', `/api/instructor/events/${event.id}`, { cookie: instructor })).json as DashboardSnapshot;
      assert.deepEqual([warm.ready, warm.target], [0, 7]);
      assert.equal(server.sessions.pool.size, 0);
    } finally {
      await server.stop();
    }
  });
});

test('ending an event: no more joins or hands; after the grace period its attendees\' sandboxes stop (progress kept); the JSON export matches the CSV', { timeout: 120_000 }, async () => {
  const server = await startTestServer({ eventEndGraceMs: 1000 });
  try {
    const instructor = await signIn(server);
    const { event } = (await call(server, 'POST', '/api/instructor/events', { cookie: instructor, body: { title: 'End', lessons: ['getting-started'], starts: new Date().toISOString(), expected: 1 } })).json as { event: { id: string; code: string } };
    const dan = await newAttendee(server.url);
    await call(server, 'POST', '/api/join', { cookie: dan, body: { code: event.code, name: '=HYPERLINK("x")' } });
    const terminal = new TestClient(server.url, dan);
    await terminal.hello('getting-started');
    await terminal.ready();
    assert.equal((await terminal.solve('create-file')).passed, true);

    assert.equal((await call(server, 'POST', `/api/instructor/events/${event.id}/clock`, { cookie: instructor, body: { action: 'end' } })).status, 200);
    const hand = await call(server, 'POST', '/api/event/hand', { cookie: dan, body: { text: 'late' } });
    assert.equal(hand.status, 409);
    assert.match(hand.body, /The event has ended/);
    await terminal.until(() => terminal.statuses.at(-1)?.message === ENDED_MESSAGE, 'the sandbox stopped after the grace period', 30_000);
    assert.equal(server.backend.size, 0);
    const progress = await call(server, 'GET', '/api/progress', { cookie: dan });
    assert.equal((progress.json as { lessons: Record<string, { done: number }> }).lessons['getting-started']!.done, 1);

    const json = (await call(server, 'GET', `/api/instructor/events/${event.id}/export.json`, { cookie: instructor })).json as Array<Record<string, unknown>>;
    const csv = (await call(server, 'GET', `/api/instructor/events/${event.id}/export.csv`, { cookie: instructor })).body;
    assert.equal(json.length, csv.trim().split('\r\n').length - 1);
    assert.deepEqual(json.find((r) => r.step === 'create-file'), {
      event: 'End', code: `${event.code.slice(0, 3)}-${event.code.slice(3)}`, attendee: dan.split('=')[1]!.split('.')[0], name: '=HYPERLINK("x")',
      lesson: 'getting-started', step: 'create-file', result: 'solved', attempts: 1, firstCheckAt: json.find((r) => r.step === 'create-file')!.firstCheckAt, lastCheckAt: json.find((r) => r.step === 'create-file')!.lastCheckAt,
    });
    // A name a spreadsheet would run as a formula is written as text.
    assert.match(csv, /,"'=HYPERLINK\(""x""\)",getting-started,create-file,solved,1,/);
    await terminal.close();
  } finally {
    await server.stop();
  }
});
