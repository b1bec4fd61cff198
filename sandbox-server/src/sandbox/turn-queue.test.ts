import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TurnQueue, type Waiter } from './turn-queue.ts';

function recorder(name: string, events: string[]): Waiter {
  return {
    onPosition: (ahead) => events.push(`${name} ahead ${ahead}`),
    onTurn: () => events.push(`${name} turn`),
    onTimeUp: () => events.push(`${name} time-up`),
  };
}

test('one turn at a time, in arrival order; positions move up as turns end', () => {
  const events: string[] = [];
  const queue = new TurnQueue({ slots: 1, maxTurnMs: 60_000 });
  const a = queue.enter(recorder('a', events));
  const b = queue.enter(recorder('b', events));
  const c = queue.enter(recorder('c', events));
  assert.deepEqual(events, ['a turn', 'b ahead 1', 'c ahead 2']);
  a.release();
  assert.deepEqual(events.slice(3), ['b turn', 'c ahead 1']);
  b.release();
  b.release(); // idempotent: does not end c's turn or skip anyone
  assert.deepEqual(events.slice(5), ['c turn']);
  assert.equal(queue.active, 1);
  c.release();
  assert.equal(queue.active + queue.queued, 0);
});

test('leaving the queue before the turn moves the ones behind up', () => {
  const events: string[] = [];
  const queue = new TurnQueue({ slots: 1, maxTurnMs: 60_000 });
  const a = queue.enter(recorder('a', events));
  const b = queue.enter(recorder('b', events));
  queue.enter(recorder('c', events));
  b.release();
  assert.deepEqual(events.slice(3), ['c ahead 1']);
  a.release();
  assert.deepEqual(events.slice(4), ['c turn']);
});

test('a turn held too long is taken back and the next one starts', async () => {
  const events: string[] = [];
  const queue = new TurnQueue({ slots: 1, maxTurnMs: 50 });
  queue.enter(recorder('a', events));
  queue.enter(recorder('b', events));
  await sleep(120);
  assert.deepEqual(events.slice(0, 4), ['a turn', 'b ahead 1', 'a time-up', 'b turn']);
});

test('with two slots, two turns run at once', () => {
  const events: string[] = [];
  const queue = new TurnQueue({ slots: 2, maxTurnMs: 60_000 });
  for (const name of ['a', 'b', 'c']) queue.enter(recorder(name, events));
  assert.deepEqual(events, ['a turn', 'b turn', 'c ahead 2']);
});
