import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../sandbox-server/src/database.ts';
import { EventStore } from '../sandbox-server/src/event-store.ts';

const run = (db: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/event.ts', ...args], { encoding: 'utf8', env: { ...process.env, OPSLAB_DB: db } });

test('npm run event -- create makes an event in the database and prints its code, links and agenda', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opslab-event-'));
  try {
    const db = join(dir, 'opslab.db');
    const made = run(db, 'create', '--title', 'Ops Day', '--lessons', 'getting-started,zerovm', '--starts', '2026-12-01T09:00', '--expected', '40', '--minutes', '30');
    assert.equal(made.status, 0, made.stderr);
    const code = /join code {3}([2-9A-HJ-NP-Z]{3})-([2-9A-HJ-NP-Z]{3})/.exec(made.stdout);
    assert.ok(code, made.stdout);
    assert.match(made.stdout, /09:00 {2}Getting started \(5 min\) {2}← now\n {2}09:05 {2}ZeroVM/);
    assert.match(made.stdout, /note: the lessons' durations add up to 25 minutes \(getting-started 5, zerovm 20\), not the event's 30/);
    const store = openDatabase(db);
    const event = await new EventStore(store).byCode(code[1]! + code[2]!);
    store.close();
    assert.deepEqual(event?.lessons, ['getting-started', 'zerovm']);
    assert.match(made.stdout, new RegExp(`/instructor/events/${event!.id}/projector`));

    const unknown = run(db, 'create', '--title', 'x', '--lessons', 'zerovm,nope', '--starts', '2026-12-01T09:00', '--expected', '4');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /lessons: there is no lesson "nope"/);
    const noExpected = run(db, 'create', '--title', 'x', '--lessons', 'zerovm', '--starts', '2026-12-01T09:00');
    assert.equal(noExpected.status, 2);
    assert.match(noExpected.stderr, /--expected is missing/);
    const badOption = run(db, 'create', '--titel', 'x');
    assert.equal(badOption.status, 2);
    assert.match(badOption.stderr, /Unknown option '--titel'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
