import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockLeftMs } from '../../protocol/workshop.ts';
import { loadCatalog } from '../../lesson-model/catalog.ts';
import { projectRoot } from './config.ts';
import { openDatabase } from './database.ts';
import { EventStore } from './event-store.ts';
import { ProgressStore } from './store.ts';
import { Workshop } from './workshop.ts';
import type { SseStream } from './sse.ts';
import { join } from 'node:path';

function workshop(warm?: { targets: Map<string, number>; broughtUp?: string[]; share?: number }) {
  const db = openDatabase(':memory:');
  const events = new EventStore(db);
  const lessons = new Map(loadCatalog(join(projectRoot, 'lessons')).map((l) => [l.slug, l]));
  const w = new Workshop({
    node: 'test-node',
    events,
    progress: new ProgressStore(db),
    lessons,
    endGraceMs: 60_000,
    stopSandboxes: async () => undefined,
    ...(warm
      ? {
          warm: {
            setTargets: (t) => void (warm.targets = new Map(t)),
            status: () => ({ ready: 0, target: 0, memoryBound: false }),
            canPool: (lesson) => lessons.get(lesson)!.services.length === 0,
            bringUpServices: (lesson) => void (warm.broughtUp ??= []).push(lesson),
            holdsSandbox: () => false,
          },
          ...(warm.share !== undefined ? { warmShare: async () => warm.share! } : {}),
        }
      : {}),
  });
  return { w, events, db };
}

const at = (iso: string) => new Date(iso);

test('the clock: a pause before the lesson starts adds nothing; pauses after it and extensions count; next lesson starts afresh', async () => {
  const { w } = workshop();
  const { event } = await w.create({ title: 't', lessons: ['getting-started', 'zerovm'], starts: '2026-12-01T09:00:00Z', expected: 10 }, at('2026-12-01T08:00:00Z'));
  await w.clock(event.id, 'pause', 5, at('2026-12-01T08:55:00Z'));
  const resumed = await w.clock(event.id, 'resume', 5, at('2026-12-01T09:02:00Z'));
  assert.equal(resumed.clock.pausedMs, 2 * 60_000, 'only the 2 minutes after 09:00 were paused');
  // getting-started is 5 minutes: at 09:04 with 2 paused, 3 left.
  assert.equal(clockLeftMs(resumed.agenda, resumed.clock, Date.parse('2026-12-01T09:04:00Z')), 3 * 60_000);
  const extended = await w.clock(event.id, 'extend', 5, at('2026-12-01T09:04:00Z'));
  assert.equal(clockLeftMs(extended.agenda, extended.clock, Date.parse('2026-12-01T09:04:00Z')), 8 * 60_000);
  const next = await w.clock(event.id, 'next', 5, at('2026-12-01T09:10:00Z'));
  assert.deepEqual([next.clock.lessonIndex, next.clock.pausedMs, next.clock.extendedMs], [1, 0, 0]);
  assert.equal(clockLeftMs(next.agenda, next.clock, Date.parse('2026-12-01T09:10:00Z')), 20 * 60_000);
  await assert.rejects(async () => await w.clock(event.id, 'next'), /last lesson of the agenda/);
  w.close();
});

test('a pause does not make the room stuck: paused time is not time on a step', async () => {
  const { w, events } = workshop();
  // getting-started: 5 minutes, 4 steps → 75 s per step.
  const { event } = await w.create({ title: 't', lessons: ['getting-started'], starts: '2026-12-01T09:00:00Z', expected: 2 }, at('2026-12-01T08:00:00Z'));
  await events.join(event.id, 'ann', 'Ann', at('2026-12-01T09:00:00Z'));
  await w.clock(event.id, 'pause', 5, at('2026-12-01T09:00:30Z'));
  await w.clock(event.id, 'resume', 5, at('2026-12-01T09:30:00Z'));
  const calm = (await w.snapshot(event.id, at('2026-12-01T09:30:30Z'))).rows[0]!;
  assert.equal(calm.stuck, undefined, 'a minute of work after a 29.5-minute break');
  const stuck = (await w.snapshot(event.id, at('2026-12-01T09:32:00Z'))).rows[0]!;
  assert.match(stuck.stuck ?? '', /min on "Create a file" \(its share of the agenda: 1 min\)/);
  w.close();
});

test('the warm pool asks for 70 % of the attendees expected, however many join; warming ends with the agenda', async () => {
  const warm = { targets: new Map<string, number>() };
  const { w, events } = workshop(warm);
  const now = Date.now();
  const { event } = await w.create({ title: 't', lessons: ['getting-started'], starts: new Date(now + 60_000).toISOString(), expected: 10 });
  for (let i = 0; i < 40; i++) await events.join(event.id, `a${i}`, `A${i}`);
  await (w as unknown as { rewarm(): Promise<void> }).rewarm();
  assert.equal(warm.targets.get('getting-started'), 7);
  const old = await w.create({ title: 'old', lessons: ['zerovm'], starts: new Date(now - 5 * 3600_000).toISOString(), expected: 10 });
  await (w as unknown as { rewarm(): Promise<void> }).rewarm();
  assert.equal(warm.targets.has('zerovm'), false, 'an event whose agenda ended hours ago and nobody ended is not warmed');
  assert.equal((await w.snapshot(old.event.id)).warm.active, false);
  w.close();
});

test('a node of a room of three warms a third of the room\'s share', async () => {
  const warm = { targets: new Map<string, number>(), share: 1 / 3 };
  const { w } = workshop(warm);
  await w.create({ title: 't', lessons: ['getting-started'], starts: new Date(Date.now() + 60_000).toISOString(), expected: 30 });
  await (w as unknown as { rewarm(): Promise<void> }).rewarm();
  assert.equal(warm.targets.get('getting-started'), 7, '70 % of 30 is 21; a third of it here');
  w.close();
});

test('a lesson with shared services is not pooled: its services are brought up, once, when the warm window opens', async () => {
  const warm = { targets: new Map<string, number>(), broughtUp: [] as string[] };
  const { w } = workshop(warm);
  const rewarm = () => (w as unknown as { rewarm(): Promise<void> }).rewarm();
  const later = await w.create({ title: 'later', lessons: ['nova-shelving'], starts: new Date(Date.now() + 3600_000).toISOString(), expected: 10 });
  await rewarm();
  assert.deepEqual(warm.broughtUp, [], 'an hour ahead: not yet');
  await w.warmNow(later.event.id);
  await rewarm();
  assert.deepEqual(warm.broughtUp, ['nova-shelving']);
  assert.equal(warm.targets.get('nova-shelving') ?? 0, 0, 'its sandboxes carry each attendee\'s own credentials: none made in advance');
  assert.deepEqual((await w.snapshot(later.event.id)).warm.services, ['openstack']);
  w.close();
});

test('a Workshop made by a tool (npm run event) leaves a running server\'s shadowing records alone; a server\'s start ends those a stop left open', async () => {
  const db = openDatabase(':memory:');
  const events = new EventStore(db);
  const progress = new ProgressStore(db);
  const lessons = new Map(loadCatalog(join(projectRoot, 'lessons')).map((l) => [l.slug, l]));
  const options = { node: 'test-node', alone: true, events, progress, lessons, endGraceMs: 60_000, stopSandboxes: async () => undefined };
  const event = await events.create({ title: 't', lessons: ['getting-started'], startsAt: '2026-12-01T09:00:00.000Z', expected: 2 });
  await events.join(event.id, 'ann', 'Ann');
  const shadowId = await events.startShadow(event.id, 'ann', 'test-node');
  await events.shadowKeyboard(shadowId, new Date('2026-12-01T09:01:00Z'));
  const open = async () => (await db.get<{ ended_at: string | null }>('SELECT ended_at FROM shadow_sessions WHERE id = ?', [shadowId]))!.ended_at === null;
  const tool = new Workshop(options);
  assert.equal(await open(), true, 'constructing is not starting');
  tool.close();
  const server = new Workshop(options);
  await server.start();
  assert.equal(await open(), false, 'a server that starts ends the shadowing its predecessor left open');
  server.close();
});

test('two shadowing sessions started at once: the later takes over, the earlier is ended (not left watching)', async () => {
  const { w, events } = workshop();
  const event = await events.create({ title: 't', lessons: ['getting-started'], startsAt: '2026-12-01T09:00:00.000Z', expected: 2 });
  await events.join(event.id, 'ann', 'Ann');
  const ended: string[] = [];
  const shadow = (name: string) => ({ state: { lesson: 'getting-started', terminal: 'main', keyboard: 'none' as const }, setKeyboard: () => undefined, end: () => void ended.push(name) });
  const first = shadow('first');
  const second = shadow('second');
  await Promise.all([w.shadowStarted(event.id, 'ann', first), w.shadowStarted(event.id, 'ann', second)]);
  assert.deepEqual(ended, ['first'], 'one session watches at a time');
  assert.equal((await w.attendeeState('ann'))?.shadow !== undefined, true, 'the later one is the one the page shows');
  w.close();
});

test('a node taken for dead and back tells the room again which pages are open on it', async () => {
  const { w, events, db } = workshop();
  const event = await events.create({ title: 't', lessons: ['getting-started'], startsAt: '2026-12-01T09:00:00.000Z', expected: 2 });
  await events.join(event.id, 'ann', 'Ann');
  const page = { send: () => undefined, sendJson: () => undefined, onClose: () => undefined, close: () => undefined } as unknown as SseStream;
  await w.watchAttendee('ann', page);
  assert.equal(await events.onlineElsewhere('ann', 'another-node'), true, 'her page is open on test-node');
  // Found dead by another node meanwhile (node-store.ts forgets its pages).
  await db.run('DELETE FROM presence');
  assert.equal(await events.onlineElsewhere('ann', 'another-node'), false);
  await w.presenceAgain();
  assert.equal(await events.onlineElsewhere('ann', 'another-node'), true);
  w.close();
});
