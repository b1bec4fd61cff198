import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase, schemaVersion } from './database.ts';
import { migrations } from './migrations.ts';
import { EventStore, JOIN_CODE_ALPHABET, normalizeJoinCode } from './event-store.ts';
import { ProgressStore } from './store.ts';

/** The progress table exactly as servers before schema versions made it (user_version 0). */
const BEFORE_MIGRATIONS = `
  CREATE TABLE IF NOT EXISTS step_progress (
    attendee TEXT NOT NULL, lesson TEXT NOT NULL, step TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('passed', 'solved', 'failed')),
    attempts INTEGER NOT NULL, first_attempt_at TEXT NOT NULL, passed_at TEXT, feedback TEXT,
    PRIMARY KEY (attendee, lesson, step)
  ) WITHOUT ROWID;`;

test('a progress database from before migrations upgrades in place and keeps every row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opslab-db-'));
  try {
    const path = join(dir, 'opslab.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(BEFORE_MIGRATIONS);
    old.prepare("INSERT INTO step_progress VALUES ('ann', 'zerovm', 'build', 'passed', 2, '2026-01-01T09:00:00.000Z', '2026-01-01T09:05:00.000Z', 'ok')").run();
    assert.equal(old.pragma('user_version', { simple: true }), 0);
    old.close();

    const db = openDatabase(path);
    assert.equal(schemaVersion(db.db), migrations.length);
    const progress = new ProgressStore(db);
    assert.deepEqual((await progress.lessonProgress('ann', 'zerovm')).steps.build, {
      status: 'passed', attempts: 2, firstAttemptAt: '2026-01-01T09:00:00.000Z', passedAt: '2026-01-01T09:05:00.000Z', feedback: 'ok',
    });
    // The new tables work on the upgraded file.
    await progress.record({ attendee: 'ann', lesson: 'zerovm', step: 'run', passed: true, solved: false, feedback: 'ran' });
    assert.equal((await new EventStore(db).attempts('ann', 'zerovm')).length, 1);
    db.close();

    // Opening again applies nothing twice.
    const again = openDatabase(path);
    assert.equal(schemaVersion(again.db), migrations.length);
    assert.equal((await new ProgressStore(again).lessonProgress('ann', 'zerovm')).steps.run?.status, 'passed');
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database newer than the server is refused, not downgraded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opslab-db-'));
  try {
    const path = join(dir, 'opslab.db');
    const newer = new Database(path);
    newer.pragma(`user_version = ${migrations.length + 1}`);
    newer.close();
    assert.throws(() => openDatabase(path), /schema version \d+, newer than this server knows/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('join codes avoid 0/O/1/I and are read however they are typed', async () => {
  for (const c of '0O1I') assert.ok(!JOIN_CODE_ALPHABET.includes(c), c);
  assert.equal(normalizeJoinCode(' abc-def '), 'ABCDEF');
  assert.equal(normalizeJoinCode('ab cd ef'), 'ABCDEF');
  assert.equal(normalizeJoinCode('ABCDE0'), undefined);
  assert.equal(normalizeJoinCode('ABCDEFG'), undefined);
  const store = new EventStore(openDatabase(':memory:'));
  const codes = new Set<string>();
  for (let i = 0; i < 200; i++) codes.add((await store.create({ title: 't', lessons: ['a'], startsAt: '2026-12-01T09:00:00.000Z', expected: 1 })).code);
  assert.equal(codes.size, 200);
  for (const code of codes) assert.equal(normalizeJoinCode(code), code);
});
