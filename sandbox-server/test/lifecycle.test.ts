/**
 * Sandbox lifecycle with the real server: check timeouts, a failing setup, a crashed sandbox,
 * idle reaping, orphan cleanup at start and cleanup at shutdown — nothing may be left behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { processesWhere } from '../src/sandbox/procfs.ts';
import { eventually, newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';

const fixtures = join(import.meta.dirname, 'fixtures/lessons');
const inRange = (server: TestServer) => (uid: number) => uid >= server.config.uidBase && uid < server.config.uidBase + server.config.uidCount;

/** An attendee at slow-check whose step "quick" has passed: what a restore must bring back. */
async function withQuickPassed(url: string): Promise<{ cookie: string; client: TestClient }> {
  const cookie = await newAttendee(url);
  const client = new TestClient(url, cookie);
  await client.hello('slow-check');
  await client.ready();
  assert.equal((await client.solve('quick')).passed, true);
  return { cookie, client };
}

describe('sandbox lifecycle', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ lessonsDir: fixtures, idleTimeoutMs: 500 });
  });
  after(async () => {
    await server.stop();
  });

  test('a check that hangs is stopped at its timeout and reported; the sandbox stays usable', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello('slow-check');
    await client.ready();
    const result = await client.check('hangs');
    assert.equal(result.passed, false);
    assert.match(result.feedback, /did not finish within 2 s.*looking/s);
    const quick = await client.check('quick');
    assert.equal(quick.passed, false);
    assert.match(quick.feedback, /no \/tmp\/quick-done/);
    client.type('ps ax | grep -c "[s]leep 600"\r');
    await client.untilOutput(/[\r\n]0\r\n/);
    await client.close();
  });

  test('a failing setup.sh is reported and leaves no sandbox behind', async () => {
    const before = server.backend.size;
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello('broken-setup');
    await client.until(() => client.closeCode !== undefined, 'the close');
    assert.ok(client.statuses.some((s) => s.state === 'error' && /setup failed/.test(s.message ?? '')), JSON.stringify(client.statuses));
    assert.equal(client.errors.at(-1)?.code, 'sandbox-failed');
    await eventually(() => server.backend.size === before, 'the failed sandbox to be gone');
  });

  test('the spawner killed: its sandboxes are reported stopped; reconnecting starts a new spawner and replays the passed steps', async () => {
    const { cookie, client } = await withQuickPassed(server.url);
    const spawner = server.backend.spawnerPid;
    assert.ok(spawner, 'the spawner runs');
    process.kill(spawner, 'SIGKILL');
    await client.until(() => client.exited || client.statuses.some((s) => s.state === 'error' && /stopped/.test(s.message ?? '')), 'the loss to be reported');
    await client.close();

    const again = new TestClient(server.url, cookie);
    await again.hello('slow-check');
    await again.ready();
    assert.notEqual(server.backend.spawnerPid, spawner, 'a new spawner');
    assert.deepEqual(again.statuses.find((s) => s.state === 'ready')!.restoredSteps, ['quick']);
    assert.equal((await again.check('quick')).passed, true);
    await again.close();
  });

  test('a crashed sandbox is reported; reconnecting re-creates it with the passed steps replayed', async () => {
    const { cookie, client } = await withQuickPassed(server.url);
    const uids = new Set(processesWhere(inRange(server)).map((p) => p.uid));
    client.type('echo $$\r');
    await client.untilOutput(/[\r\n]\d+\r\n/);
    // Crash it from the outside: SIGKILL every process of every sandbox uid this client could own.
    // (Other tests' sandboxes are closed by now; the idle reaper keeps the set small.)
    for (const p of processesWhere(inRange(server))) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // it went first
      }
    }
    await client.until(() => client.exited || client.statuses.some((s) => s.state === 'error'), 'the crash to be reported');
    await client.close();
    assert.ok(uids.size >= 1);

    const again = new TestClient(server.url, cookie);
    await again.hello('slow-check');
    await again.ready();
    const ready = again.statuses.find((s) => s.state === 'ready')!;
    assert.deepEqual(ready.restoredSteps, ['quick']);
    assert.equal((await again.check('quick')).passed, true);
    await again.close();
  });

  test('an idle sandbox is reaped: no process of it is left', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello('slow-check');
    await client.ready();
    assert.ok(server.backend.size >= 1);
    await client.close();
    await eventually(() => server.backend.size === 0, 'the idle sandbox to be reaped');
    await eventually(() => processesWhere(inRange(server)).length === 0, 'its processes to be gone');
  });
});

describe('cleanup', () => {
  test('orphans of a crashed run are killed at start; nothing is left after shutdown', async () => {
    const uidBase = 760_000 + (process.pid % 100) * 100;
    const orphan = spawn('setpriv', ['--reuid', String(uidBase + 3), '--regid', String(uidBase + 3), '--clear-groups', 'sleep', '600'], { detached: true, stdio: 'ignore' });
    orphan.unref();
    await eventually(() => processesWhere((uid) => uid === uidBase + 3).length === 1, 'the orphan to run');
    const server = await startTestServer({ lessonsDir: fixtures, uidBase, uidCount: 50 });
    try {
      await eventually(() => processesWhere((uid) => uid === uidBase + 3).length === 0, 'the orphan to be killed');
      const client = new TestClient(server.url, await newAttendee(server.url));
      await client.hello('slow-check');
      await client.ready();
      client.type('sleep 1000 &\r');
      await client.untilOutput(/\[1\] \d+/);
      assert.ok(processesWhere(inRange(server)).length >= 3);
    } finally {
      await server.stop();
    }
    assert.deepEqual(processesWhere((uid) => uid >= uidBase && uid < uidBase + 50), []);
  });
});

describe('start turns', () => {
  test('a room arriving at once takes turns to start: every attendee gets a sandbox, a failed setup frees its turn', async () => {
    const server = await startTestServer({ lessonsDir: fixtures, maxConcurrentStarts: 1 });
    try {
      const lessons = ['slow-check', 'broken-setup', 'slow-check', 'broken-setup', 'slow-check', 'slow-check'];
      const clients = await Promise.all(lessons.map(async () => new TestClient(server.url, await newAttendee(server.url))));
      await Promise.all(clients.map((c, i) => c.hello(lessons[i]!)));
      await Promise.all(
        clients.map((c, i) =>
          lessons[i] === 'slow-check' ? c.ready() : c.until(() => c.statuses.some((s) => s.state === 'error'), 'the failed setup reported'),
        ),
      );
      assert.equal(server.backend.size, 4);
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await server.stop();
    }
  });
});

describe('abuse caps', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ lessonsDir: fixtures, maxSandboxes: 2, maxSandboxesPerAttendee: 1 });
  });
  after(async () => {
    await server.stop();
  });

  test('per attendee and in total: the next sandbox is refused with a message that says what to do', async () => {
    const cookie = await newAttendee(server.url);
    const first = new TestClient(server.url, cookie);
    await first.hello('slow-check');
    await first.ready();

    // The same attendee, another lesson: over the per-attendee cap of 1.
    const other = new TestClient(server.url, cookie);
    await other.hello('broken-setup');
    await other.until(() => other.closeCode !== undefined, 'the refusal');
    assert.equal(other.errors.at(-1)?.code, 'capacity');
    assert.match(other.errors.at(-1)!.message, /You already have 1 sandbox in use \(slow-check\); the limit is 1/);

    const second = new TestClient(server.url, await newAttendee(server.url));
    await second.hello('slow-check');
    await second.ready();
    assert.equal(server.backend.size, 2);

    // A third attendee is over the total of 2.
    const third = new TestClient(server.url, await newAttendee(server.url));
    await third.hello('slow-check');
    await third.until(() => third.closeCode !== undefined, 'the refusal');
    assert.equal(third.errors.at(-1)?.code, 'capacity');
    assert.match(third.errors.at(-1)!.message, /workshop is full: all 2 sandboxes are in use/);
    assert.equal(server.backend.size, 2, 'no sandbox was started for a refused request');
    await Promise.all([first.close(), second.close()]);
  });
});
