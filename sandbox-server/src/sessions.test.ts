/**
 * The session core on the in-memory backend (sandbox/memory.ts), without root: a start runs the
 * lesson's setup; a second terminal and a reattach find the same sandbox; a crashed sandbox is
 * re-created with setup and the passed steps' solves replayed, in order; the per-attendee cap stops
 * the idlest unused sandbox, and refuses, saying which, when every one is in use; a session with
 * nothing attached is reaped after its idle time. The world the checks see is the test's: a step's
 * check passes once its solve ran in that very sandbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { StatusPayload } from '../../protocol/messages.ts';
import { loadLesson } from '../../lesson-model/catalog.ts';
import { scaffoldLesson } from '../../lesson-model/scaffold.ts';
import { defaultProfiles } from './config.ts';
import { openDatabase } from './database.ts';
import { MemoryBackend, type MemorySandbox } from './sandbox/memory.ts';
import { SessionManager, type SessionOptions, type StagedLesson } from './sessions.ts';
import { ProgressStore } from './store.ts';

const root = mkdtempSync(join(tmpdir(), 'opslab-sessions-'));
after(() => rmSync(root, { recursive: true, force: true }));
for (const slug of ['first', 'second']) scaffoldLesson(root, { slug });
const lessons = new Map<string, StagedLesson>(['first', 'second'].map((slug) => [slug, { lesson: loadLesson(join(root, slug), slug, root), stagedDir: join(root, slug) }]));

/** A step's check passes once its solve ran in the same sandbox. */
function world(sandbox: MemorySandbox, argv: string[]) {
  const script = argv.at(-1) ?? '';
  const step = /steps\/([^/]+)\/check\.sh/.exec(argv.join(' '))?.[1];
  if (step) return sandbox.commands.some((c) => c.includes(`steps/${step}/solve.sh`)) ? { code: 0, output: 'Done.' } : { code: 1, output: `Not done: ${step}.` };
  return { code: 0, output: script.endsWith('solve.sh') ? 'solved' : '' };
}

function manager(overrides: Partial<SessionOptions> = {}) {
  const backend = new MemoryBackend(world);
  const store = new ProgressStore(openDatabase(join(mkdtempSync(join(root, 'db-')), 'progress.db')));
  const sessions = new SessionManager(lessons, backend, store, {
    idleTimeoutMs: 60_000,
    scrollbackBytes: 64 * 1024,
    profiles: defaultProfiles,
    maxSandboxes: 10,
    maxSandboxesPerAttendee: 3,
    maxSandboxesPerAddress: 10,
    maxConcurrentStarts: 2,
    ...overrides,
  });
  return { backend, store, sessions };
}

/** A listener that keeps what it hears, like a connection would. */
function listener() {
  const statuses: StatusPayload[] = [];
  return { statuses, status: (s: StatusPayload) => statuses.push(s), progress: () => {} };
}

const setupRan = (sandbox: MemorySandbox) => sandbox.commands.some((c) => c.includes('/opt/opslab/lesson/setup.sh'));

test('a start runs setup; a second terminal and a reattach use the same sandbox and shell', async () => {
  const { backend, sessions } = manager();
  const session = sessions.session('ann', 'first');
  const terminal = await session.terminal('main', 80, 24);
  assert.equal(backend.created.length, 1);
  assert.ok(setupRan(backend.created[0]!), backend.created[0]!.commands.join('\n'));
  assert.equal(await session.terminal('main', 100, 30), terminal, 'a reattach finds the same shell');
  assert.equal(sessions.session('ann', 'first'), session);
  assert.equal(backend.size, 1);
  await sessions.closeAll();
  assert.equal(backend.size, 0);
});

test('a crashed sandbox is re-created: setup, then the passed steps\' solves, and the status says so', async () => {
  const { backend, sessions } = manager();
  const session = sessions.session('bob', 'first');
  const heard = listener();
  session.listen(heard);
  await session.ensureSandbox();
  assert.equal((await session.check('write-note', undefined)).passed, false);
  const solved = await session.solve('write-note');
  assert.deepEqual([solved.passed, solved.solved], [true, true]);

  backend.created[0]!.crash();
  assert.match(heard.statuses.at(-1)!.message ?? '', /Your sandbox stopped\. Reconnect to get a fresh one/);
  await session.ensureSandbox();
  const again = backend.created[1]!;
  const setupAt = again.commands.findIndex((c) => c.includes('/opt/opslab/lesson/setup.sh'));
  const replayAt = again.commands.findIndex((c) => c.includes('steps/write-note/solve.sh'));
  assert.ok(setupAt >= 0 && replayAt > setupAt, again.commands.join('\n'));
  assert.deepEqual(heard.statuses.at(-1), { state: 'ready', message: 'Your sandbox was re-created; completed steps were replayed: Copy the greeting into a note.', restoredSteps: ['write-note'] });
  assert.equal((await session.check('write-note', undefined)).passed, true, 'the replayed solve made the check pass in the new sandbox');
  await sessions.closeAll();
});

test('the per-attendee cap stops the idlest unused sandbox, and says which are in use when none is', async () => {
  const { backend, sessions } = manager({ maxSandboxesPerAttendee: 1 });
  const first = sessions.session('cy', 'first');
  const stopListening = first.listen(listener());
  await first.ensureSandbox();
  const second = sessions.session('cy', 'second');
  const heard = listener();
  second.listen(heard);
  await assert.rejects(second.ensureSandbox(), /You already have 1 sandbox in use \(first\); the limit is 1/);
  assert.equal(heard.statuses.at(-1)!.state, 'error');

  stopListening(); // the first lesson's tab is closed: its sandbox may make room
  await second.ensureSandbox();
  assert.equal(backend.created[0]!.alive, false, 'the unused sandbox was stopped');
  assert.equal(backend.size, 1);
  await sessions.closeAll();
});

test('a session with nothing attached is reaped after its idle time; its progress stays', async () => {
  const { backend, sessions, store } = manager({ idleTimeoutMs: 20 });
  const session = sessions.session('dee', 'first');
  const stopListening = session.listen(listener());
  await session.ensureSandbox();
  await session.solve('write-note');
  const sandbox = backend.created[0]!;
  const reaped = new Promise<string>((resolve) => sandbox.onExit(resolve));
  // The idle timer does not hold the process open (unref): this one holds it while the test waits.
  const hold = setTimeout(() => {}, 60_000);
  stopListening();
  assert.equal(await reaped, 'destroyed');
  clearTimeout(hold);
  assert.equal(sessions.existing('dee', 'first'), undefined);
  assert.equal((await store.lessonProgress('dee', 'first')).steps['write-note']?.status, 'solved');
  await sessions.closeAll();
});
