/**
 * The room's store behaves the same on both databases: every case below runs on the embedded
 * SQLite file and on a PostgreSQL 15 of the test's own (postgres-server.ts). Then what only a room
 * of several nodes has: migrations applied once by nodes starting together, a newer schema refused,
 * the room's secrets shared, and changes heard by the other nodes — also after the feed is cut.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrations } from '../src/migrations.ts';
import { NodeStore } from '../src/node-store.ts';
import { openRoomStore, type RoomStore } from '../src/room-store.ts';
import type { RoomChange } from '../src/sql.ts';
import { eventually } from './helpers.ts';
import { startTestPostgres, type TestPostgres } from './postgres-server.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 9, minute));
const NEW_EVENT = { title: 't', lessons: ['zerovm', 'galera'], startsAt: '2026-12-01T09:00:00.000Z', expected: 2 };

let postgres: TestPostgres;
const dir = mkdtempSync(join(tmpdir(), 'opslab-room-store-'));
before(async () => {
  postgres = await startTestPostgres();
});
after(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let made = 0;
const openers: Record<string, () => Promise<RoomStore>> = {
  sqlite: async () => openRoomStore({ databasePath: join(dir, `room-${++made}.db`), node: 'node-a', incarnation: 'one' }),
  postgres: async () => openRoomStore({ databasePath: '/nonexistent', databaseUrl: postgres.url(await postgres.createDatabase()), node: 'node-a', incarnation: 'one' }),
};

for (const [kind, open] of Object.entries(openers)) {
  describe(`the room's store on ${kind}`, () => {
    test('a pass counts as "with help" only when the instructor helped after the previous passed step', async () => {
      const store = await open();
      try {
        const { progress, events } = store;
        assert.equal(store.kind, kind);
        const event = await events.create(NEW_EVENT);
        await events.join(event.id, 'ann', 'Ann');
        const check = (step: string, passed: boolean, minute: number, solved = false) =>
          progress.record({ attendee: 'ann', lesson: 'zerovm', step, passed, solved, feedback: passed ? 'ok' : 'no' }, at(minute));
        assert.equal(await check('one', true, 1), 'check');
        await events.addMessage(event.id, 'ann', 'look at the manifest', at(2)); // a hint
        assert.equal(await check('two', false, 3), 'check');
        assert.equal(await check('two', true, 4), 'help');
        assert.equal(await check('three', true, 5), 'check'); // the hint was before the previous pass
        const hand = await events.raiseHand(event.id, 'ann', { lesson: 'zerovm', step: 'four' }, 'stuck', at(6));
        assert.equal(await check('four', true, 7), 'check'); // a hand nobody came to is not help
        await events.setHelpState(hand.id, 'on-the-way', at(8));
        assert.equal(await check('five', true, 9), 'help');
        assert.equal(await check('six', true, 10, true), 'solve');
        await events.addMessage(event.id, null, 'a broadcast is not a hint', at(11));
        assert.equal(await check('seven', true, 12), 'check');
        assert.deepEqual((await events.attempts('ann', 'zerovm')).map((a) => `${a.step}:${a.passed}:${a.how}`), [
          'one:true:check', 'two:false:check', 'two:true:help', 'three:true:check', 'four:true:check', 'five:true:help', 'six:true:solve', 'seven:true:check',
        ]);
      } finally {
        await store.close();
      }
    });

    test('progress: a pass is never downgraded, a reset forgets progress but keeps history', async () => {
      const store = await open();
      try {
        const { progress, events } = store;
        const record = (step: string, passed: boolean, minute: number) => progress.record({ attendee: 'bob', lesson: 'zerovm', step, passed, solved: false, feedback: `${step} ${passed}` }, at(minute));
        assert.equal(await progress.knows('bob'), false);
        await record('build', false, 1);
        await record('build', true, 2);
        await record('build', false, 3);
        assert.deepEqual((await progress.lessonProgress('bob', 'zerovm')).steps.build, {
          status: 'passed', attempts: 3, firstAttemptAt: at(1).toISOString(), passedAt: at(2).toISOString(), feedback: 'build false',
        });
        assert.equal(await progress.knows('bob'), true);
        assert.deepEqual(Object.keys(await progress.attendeeProgress('bob')), ['zerovm']);
        await progress.resetLesson('bob', 'zerovm', at(4));
        assert.deepEqual((await progress.lessonProgress('bob', 'zerovm')).steps, {});
        assert.deepEqual(await events.attempts('bob', 'zerovm'), [], 'attempts before the reset no longer count');
        await record('build', true, 5);
        const event = await events.create(NEW_EVENT);
        await events.join(event.id, 'bob', 'Bob');
        await progress.record({ attendee: 'bob', lesson: 'other', step: 'x', passed: true, solved: false, feedback: '' }, at(6));
        assert.deepEqual((await events.eventAttempts(event)).map((a) => `${a.lesson}/${a.step}@${a.at}`), [`zerovm/build@${at(5).toISOString()}`], 'only the event\'s lessons, since the reset');
      } finally {
        await store.close();
      }
    });

    test('events: codes, joins and renames, the latest event of an attendee, messages in order, numbers as numbers', async () => {
      const store = await open();
      try {
        const { events } = store;
        const first = await events.create(NEW_EVENT, at(0));
        const second = await events.create({ ...NEW_EVENT, title: 'second' }, at(1));
        assert.equal((await events.byCode(first.code))?.id, first.id);
        assert.deepEqual((await events.list()).map((e) => e.title).sort(), ['second', 't']);
        assert.deepEqual(first.lessons, NEW_EVENT.lessons);
        assert.equal(first.createdAt, at(0).toISOString());
        await events.join(first.id, 'cy', 'Cy', at(2));
        await events.join(first.id, 'cy', 'Cyrus', at(3));
        assert.deepEqual(await events.attendees(first.id), [{ attendee: 'cy', name: 'Cyrus', joinedAt: at(2).toISOString() }]);
        await events.join(second.id, 'cy', 'Cy', at(4));
        assert.equal((await events.eventOf('cy'))?.id, second.id);
        const ids = [];
        for (let i = 0; i < 7; i++) ids.push((await events.addMessage(second.id, i % 2 ? 'cy' : null, `m${i}`, at(5 + i))).id);
        assert.ok(ids.every((id) => typeof id === 'number'), 'ids are numbers');
        await events.addMessage(second.id, 'someone-else', 'not for cy', at(20));
        assert.deepEqual((await events.messagesFor(second.id, 'cy', 3)).map((m) => m.text), ['m4', 'm5', 'm6']);
        const shadow = await events.startShadow(second.id, 'cy', 'node-a');
        assert.equal(typeof shadow, 'number');
        await events.warmNow(second.id, at(30));
        await events.warmNow(second.id, at(31));
        assert.equal((await events.get(second.id))?.warmFrom, at(30).toISOString(), 'the first "warm up now" counts');
        assert.deepEqual((await events.open()).map((e) => e.id).sort(), [first.id, second.id].sort());
      } finally {
        await store.close();
      }
    });

    test('ten "extend"s at once add up; a refused change saves nothing', async () => {
      const store = await open();
      try {
        const { events } = store;
        const event = await events.create(NEW_EVENT);
        await Promise.all(Array.from({ length: 10 }, () => events.updateClock(event.id, (r) => ({ ...r.clock, extendedMs: r.clock.extendedMs + 60_000 }))));
        assert.equal((await events.get(event.id))?.clock.extendedMs, 600_000);
        await assert.rejects(events.updateClock(event.id, () => {
          throw new Error('refused');
        }), /refused/);
        const ended = await events.updateClock(event.id, (r) => ({ ...r.clock, endedAt: at(9).toISOString() }));
        assert.equal(ended.clock.endedAt, at(9).toISOString());
        assert.deepEqual(await events.open(), []);
      } finally {
        await store.close();
      }
    });

    test('ten hands raised at once are one hand; raised again it changes its text; closed, a new one queues', async () => {
      const store = await open();
      try {
        const { events } = store;
        const event = await events.create(NEW_EVENT);
        const hands = await Promise.all(Array.from({ length: 10 }, (_, i) => events.raiseHand(event.id, 'dee', { lesson: 'zerovm' }, `help ${i}`)));
        assert.equal(new Set(hands.map((h) => h.id)).size, 1);
        const again = await events.raiseHand(event.id, 'dee', { lesson: 'zerovm', step: 'two' }, 'help with step two');
        assert.equal(again.id, hands[0]!.id);
        assert.deepEqual((await events.openHelp(event.id)).map((h) => [h.text, h.step, typeof h.createdAt]), [['help with step two', 'two', 'string']]);
        assert.equal((await events.help(again.id))?.eventId, event.id);
        await events.setHelpState(again.id, 'resolved');
        assert.deepEqual(await events.openHelp(event.id), []);
        await events.setHelpState(again.id, 'on-the-way');
        assert.equal((await events.hand(event.id, 'dee'))?.state, 'resolved', 'a closed hand is not opened again by the instructor\'s button');
        const next = await events.raiseHand(event.id, 'dee', { lesson: 'zerovm' }, 'again');
        assert.notEqual(next.id, again.id);
      } finally {
        await store.close();
      }
    });

    test('a node\'s shadowing records and pages end with it (found dead, or its id started again); presence is by node', async () => {
      const store = await open();
      try {
        const { events, nodes, sql } = store;
        const capacity = { sandboxes: 0, maxSandboxes: 10, memoryAvailableBytes: 1e10, free: { small: 10 } };
        const stale = new Date(Date.now() - 2 * 3_600_000); // their heartbeats stopped hours before the database started
        await nodes.announce({ id: 'node-b', incarnation: 'one', url: 'http://b', capacity }, stale);
        await nodes.announce({ id: 'node-c', incarnation: 'one', url: 'http://c', capacity }, stale);
        const event = await events.create(NEW_EVENT);
        const onB = await events.startShadow(event.id, 'eve', 'node-b');
        const onC = await events.startShadow(event.id, 'eve', 'node-c');
        const onD = await events.startShadow(event.id, 'eve', 'node-d');
        await events.setPresence('node-b', 'eve', event.id, true);
        assert.equal(await events.onlineElsewhere('eve', 'node-a'), true);
        assert.equal(await events.onlineElsewhere('eve', 'node-b'), false);
        const ended = async (id: number) => (await sql.get<{ ended_at: string | null }>('SELECT ended_at FROM shadow_sessions WHERE id = ?', [id]))!.ended_at !== null;
        await nodes.announce({ id: 'node-c', incarnation: 'two', url: 'http://c', capacity });
        assert.equal(await ended(onC), true, 'a new process of node-c: the old one\'s sockets are gone');
        assert.equal(await ended(onB), false, 'another node\'s shadowing goes on');
        assert.ok((await nodes.sweepDead()).includes('node-b'));
        assert.equal(await ended(onB), true, 'found dead: its shadowing records end');
        assert.equal(await events.onlineElsewhere('eve', 'node-a'), false, 'and its pages are offline');
        assert.equal(await ended(onD), false, 'a node nobody found dead keeps its own');
      } finally {
        await store.close();
      }
    });

    test('nodes: one live holder per id; an attendee placed once, taken over from a dead node by one node only', async () => {
      const store = await open();
      try {
        const { nodes } = store;
        const capacity = { sandboxes: 0, maxSandboxes: 10, memoryAvailableBytes: 1e10, free: { small: 10 } };
        await nodes.announce({ id: 'node-a', incarnation: 'one', url: 'http://a', capacity });
        assert.equal((await nodes.node('node-a'))?.alive, true, 'announced: alive');
        await assert.rejects(nodes.announce({ id: 'node-a', incarnation: 'two', url: 'http://a2', capacity }), /node id "node-a" is held by a live node/);
        assert.equal(await nodes.heartbeat('node-a', 'one', { ...capacity, sandboxes: 3 }, true), true);
        assert.equal((await nodes.node('node-a'))?.capacity.sandboxes, 3);
        assert.equal(await nodes.heartbeat('node-a', 'stale', capacity, true), false, 'another incarnation\'s heartbeat is refused');

        assert.equal(await nodes.place('gus', 'node-a'), 'node-a');
        assert.equal(await nodes.place('gus', 'node-b'), 'node-a', 'placed once: a second placement does not move them');
        // node-z stopped beating hours ago: dead. Five nodes reach for its attendee at once; one wins.
        await nodes.announce({ id: 'node-z', incarnation: 'one', url: 'http://z', capacity }, new Date(Date.now() - 2 * 3_600_000));
        assert.equal((await nodes.node('node-z'))?.alive, false);
        await nodes.place('hal', 'node-z');
        const wins = await Promise.all(['b', 'c', 'd', 'e', 'f'].map((n) => nodes.takeOver('hal', 'node-z', `node-${n}`)));
        assert.equal(wins.filter(Boolean).length, 1);
        assert.equal(await nodes.placementOf('hal'), `node-${'bcdef'[wins.indexOf(true)]}`);
        assert.deepEqual(await nodes.sweepDead(), ['node-z']);
        assert.deepEqual(await nodes.sweepDead(), [], 'marked dead once');
        await nodes.announce({ id: 'node-z', incarnation: 'two', url: 'http://z', capacity });
        assert.equal((await nodes.node('node-z'))?.state, 'up', 'a dead node\'s id comes back as a new incarnation');
        assert.notEqual(await nodes.placementOf('hal'), 'node-z', 'and takes nobody back');

        await nodes.leave('node-a', 'one');
        assert.equal(await nodes.placementOf('gus'), undefined, 'a node that leaves gives its attendees back to the room');
        assert.equal((await nodes.node('node-a'))?.state, 'left');
      } finally {
        await store.close();
      }
    });

    test('the room\'s keys: made once, the same when opened again', async () => {
      const store = await open();
      try {
        const key = await store.key('attendee-identity');
        assert.equal(key.length, 32);
        assert.deepEqual(await store.key('attendee-identity'), key);
        assert.notDeepEqual(await store.key('other'), key);
        const token = await store.instructorToken();
        assert.ok(token.token.length >= 12);
        assert.equal((await store.instructorToken()).token, token.token);
      } finally {
        await store.close();
      }
    });
  });
}

describe('a room of several nodes on PostgreSQL', () => {
  test('nodes starting together migrate once; a schema newer than the server is refused', async () => {
    const url = postgres.url(await postgres.createDatabase());
    const stores = await Promise.all(['a', 'b', 'c'].map((n) => openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: `node-${n}`, incarnation: 'one' })));
    const versions = await stores[0]!.sql.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(versions.map((v) => v.version), migrations.map((_, i) => i + 1));
    const keys = await Promise.all(stores.map((s) => s.key('attendee-identity')));
    assert.ok(keys.every((k) => k.equals(keys[0]!)), 'one key for the room: a cookie signed on one node is good on all');
    const tokens = await Promise.all(stores.map((s) => s.instructorToken()));
    assert.ok(tokens.every((t) => t.token === tokens[0]!.token));
    await stores[0]!.sql.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [migrations.length + 1, 'later']);
    await Promise.all(stores.map((s) => s.close()));
    await assert.rejects(openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-d', incarnation: 'one' }), /schema version \d+, newer than this server knows .*upgrade every node of the room together/);
  });

  test('a node whose process is gone is dead at once, before its lease runs out (its connections left pg_stat_activity)', async () => {
    const url = postgres.url(await postgres.createDatabase());
    const a = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-a', incarnation: 'one' });
    const b = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-b', incarnation: 'one' });
    const capacity = { sandboxes: 0, maxSandboxes: 10, memoryAvailableBytes: 1e10, free: { small: 10 } };
    /**
     * Whether node-b's process is found dead. Its backends leave pg_stat_activity as they exit, just
     * after its sockets close; meanwhile its heartbeat is kept fresh (written for it here), so only
     * its connections can make it dead, never its lease.
     */
    const gone = async (incarnation: string) => {
      for (let i = 0; i < 100; i++) {
        assert.equal(await a.nodes.heartbeat('node-b', incarnation, capacity, true), true, 'still up in the table');
        if (!(await a.nodes.node('node-b'))!.alive) return true;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return false;
    };
    try {
      await b.listen(() => undefined, () => undefined);
      await b.nodes.announce({ id: 'node-b', incarnation: 'one', url: 'http://b', capacity });
      assert.equal((await a.nodes.node('node-b'))?.alive, true, 'its feed connection is there');
      await b.close();
      assert.equal(await gone('one'), true, 'gone with its connections, its heartbeat fresh');
      // It restarts at once (a new incarnation), its old row still 'up' with a fresh heartbeat: its
      // own new connections do not make the old one look alive.
      const again = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-b', incarnation: 'two' });
      await again.listen(() => undefined, () => undefined);
      await again.nodes.announce({ id: 'node-b', incarnation: 'two', url: 'http://b', capacity });
      assert.equal((await a.nodes.node('node-b'))?.incarnation, 'two');
      assert.deepEqual(await a.nodes.sweepDead(), [], 'the new incarnation lives');
      await assert.rejects(a.nodes.announce({ id: 'node-b', incarnation: 'three', url: 'http://b3', capacity }), /held by a live node/, 'while it lives, nobody else takes its id');
      await again.close();
      assert.equal(await gone('two'), true);
      assert.deepEqual(await a.nodes.sweepDead(), ['node-b'], 'gone again: marked dead, once');
    } finally {
      await a.close();
    }
  });

  test('after a PostgreSQL restart the first node back finds nobody dead: the others reconnect as themselves', async () => {
    // A cluster of its own: this test restarts it.
    const own = await startTestPostgres();
    const url = own.url(await own.createDatabase());
    const a = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-a', incarnation: 'one' });
    const b = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-b', incarnation: 'one' });
    const c = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-c', incarnation: 'one' });
    // The lease, lengthened: a slow machine's restart must not outlast it (what is tested is that the
    // restart, not the clock, decides).
    const lease = 600_000;
    const judgedByA = new NodeStore(a.sql, lease);
    const capacity = { sandboxes: 0, maxSandboxes: 10, memoryAvailableBytes: 1e10, free: { small: 10 } };
    try {
      for (const [id, store] of [['node-a', a], ['node-b', b], ['node-c', c]] as const) await store.nodes.announce({ id, incarnation: 'one', url: `http://${id}`, capacity });
      assert.deepEqual((await judgedByA.nodes()).map((n) => n.alive), [true, true, true]);
      await own.restart(); // -m immediate: as a crash, every connection cut
      // A is back first (its pool reconnects at its next statement); B and C have not reconnected.
      assert.equal(await a.nodes.heartbeat('node-a', 'one', capacity, true), true);
      const seen = await judgedByA.nodes();
      assert.deepEqual(seen.map((n) => [n.id, n.connected]), [['node-a', true], ['node-b', false], ['node-c', false]], 'B and C have no connection yet');
      assert.deepEqual(seen.map((n) => n.alive), [true, true, true], 'but they were up before the restart: alive while they reconnect');
      assert.deepEqual(await judgedByA.sweepDead(), [], 'nobody marked dead');
      // B reconnects as itself; C's machine was restarted too and comes back as a new process of its id.
      assert.equal(await b.nodes.heartbeat('node-b', 'one', capacity, true), true, 'B is still itself');
      await c.close();
      const cAgain = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-c', incarnation: 'two' });
      try {
        await cAgain.nodes.announce({ id: 'node-c', incarnation: 'two', url: 'http://node-c', capacity });
        assert.deepEqual((await judgedByA.nodes()).map((n) => [n.id, n.incarnation, n.alive, n.connected]), [['node-a', 'one', true, true], ['node-b', 'one', true, true], ['node-c', 'two', true, true]]);
      } finally {
        await cAgain.close();
      }
      // Outside the restart's lease, a node without connections is dead at once again.
      await b.close();
      const stillB = async () => (await new NodeStore(a.sql).node('node-b'))!;
      for (let i = 0; i < 100 && (await stillB()).connected; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await stillB()).connected, false, 'B\'s connections left');
      assert.equal((await judgedByA.node('node-b'))!.alive, false, 'B beat since the restart: its connections decide again');
    } finally {
      await a.close();
      await b.close().catch(() => undefined);
      await own.stop();
    }
  });

  test('an OPSLAB_DATABASE_URL that is not postgres:// is refused by name', async () => {
    await assert.rejects(openRoomStore({ databasePath: '/nonexistent', databaseUrl: 'mysql://x', node: 'a', incarnation: 'one' }), /OPSLAB_DATABASE_URL must be a postgres:\/\//);
  });

  test('what one node writes, the others hear — only when committed — and after the feed is cut they hear again', async () => {
    const url = postgres.url(await postgres.createDatabase());
    const a = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-a', incarnation: 'one' });
    const b = await openRoomStore({ databasePath: '/nonexistent', databaseUrl: url, node: 'node-b', incarnation: 'one' });
    try {
      const heardByA: RoomChange[] = [];
      const heardByB: RoomChange[] = [];
      let resyncs = 0;
      await a.listen((change) => heardByA.push(change), () => resyncs++);
      await b.listen((change) => heardByB.push(change), () => undefined);
      assert.equal(a.listening, true);
      const hearing = { timeoutMs: 10_000 }; // the bound these waits had: 200 looks, 50 ms apart
      const event = await b.events.create(NEW_EVENT);
      await b.events.join(event.id, 'fay', 'Fay');
      await b.progress.record({ attendee: 'fay', lesson: 'zerovm', step: 'build', passed: true, solved: false, feedback: 'x'.repeat(2000) });
      await eventually(() => heardByA.length >= 2, 'A hears the join and the check', hearing);
      assert.deepEqual(heardByA.map(({ kind, from }) => `${kind}:${from}`), ['joined:node-b', 'progress:node-b']);
      assert.deepEqual(heardByB, [], 'a node does not hear itself: it already showed its own change');
      await assert.rejects(b.events.updateClock(event.id, () => {
        throw new Error('refused');
      }));
      await b.events.updateClock(event.id, (r) => ({ ...r.clock, lessonIndex: 1 }));
      await eventually(() => heardByA.length >= 3, 'A hears the clock', hearing);
      assert.deepEqual(heardByA.slice(2), [{ kind: 'clock', event: event.id, newLesson: true, ended: false, from: 'node-b' }], 'the rolled-back change was never sent');

      // Node A's connections are cut (a PostgreSQL restart, a network blip): its feed comes back and says so.
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'opslab:node-a:one'");
      await admin.end();
      assert.ok((cut.rowCount ?? 0) >= 1, 'its connections were found and cut');
      await eventually(() => resyncs === 1 && a.listening === true, 'A listens again and re-reads what it shows', hearing);
      await b.events.addMessage(event.id, null, 'after the cut');
      await eventually(() => heardByA.some((c) => c.kind === 'message'), 'A hears changes again', hearing);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
