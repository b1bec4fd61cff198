import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextLoopTurn } from './loop-turns.ts';

test('callers are released one per event-loop turn, in the order they called', async () => {
  // Counts the loop's turns: an immediate that schedules itself runs once per turn.
  let turn = 0;
  let counting = true;
  const count = () => {
    turn++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const released: Array<[string, number]> = [];
  await Promise.all(
    ['a', 'b', 'c'].map(async (name) => {
      await nextLoopTurn();
      released.push([name, turn]);
    }),
  );
  counting = false;
  assert.deepEqual(released.map(([name]) => name), ['a', 'b', 'c']);
  const turns = released.map(([, t]) => t);
  assert.equal(new Set(turns).size, 3, `released on turns ${turns.join(', ')}: more than one on a turn`);
});
