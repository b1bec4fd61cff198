/**
 * The sandbox pool (sandbox-pool.ts) on a real server: it fills per lesson without shared services,
 * an attendee takes a pooled sandbox (set up in the pool, its shell waiting; checks and the shell
 * work in it as in a new one), the pool refills, and at the room's cap a pooled sandbox gives way
 * to an attendee's.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';

/** The host uid the attendee's sandbox runs as, read from inside it. */
async function hostUid(client: TestClient): Promise<number> {
  client.type("awk '{print \"host-uid=\" $2}' /proc/self/uid_map\r");
  await client.untilOutput(/host-uid=\d+/);
  return Number(/host-uid=(\d+)/.exec(client.output)![1]);
}

const pooledLessons = (server: TestServer) => [...server.sessions.pool.waiting().map((w) => w.lesson)].sort();

test('the pool fills per lesson without shared services; an attendee takes a pooled sandbox and the pool refills', async () => {
  const server = await startTestServer({ poolSize: 1 });
  try {
    await eventually(() => server.sessions.pool.size === 4, 'a pooled sandbox per lesson');
    assert.deepEqual(pooledLessons(server), ['galera', 'getting-started', 'pxe', 'zerovm'], 'nova-shelving (shared services) is not pooled');
    const pooled = server.sessions.pool.waiting().find((w) => w.lesson === 'getting-started')!.uid;

    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello('getting-started');
    await client.ready();
    assert.equal(await hostUid(client), pooled, 'the attendee got the pooled sandbox');
    // The lesson's setup ran in it, and its checks run in its checker's view.
    assert.match(client.output, /root@opslab:~# /);
    const before = await client.check('create-file');
    assert.equal(before.passed, false);
    client.type("echo 'Hello, Opslab!' > /root/hello.txt && echo wr''itten\r");
    await client.untilOutput(/written/);
    const check = await client.check('create-file');
    assert.equal(check.passed, true, check.feedback);

    // A lesson with a setup.sh: it ran in the pool, once, before the shell that was waiting there read its ~/.bashrc.
    const galeraPooled = server.sessions.pool.waiting().find((w) => w.lesson === 'galera')!.uid;
    const galera = new TestClient(server.url, await newAttendee(server.url));
    const hello = performance.now();
    await galera.hello('galera', 'host');
    await galera.ready();
    // Its shell is the one the pool started: older than the attendee's hello.
    galera.type("awk -v t=$(cut -d' ' -f22 /proc/$$/stat) '{ printf \"shell-age-ms=%d\\n\", ($1 - t / 100) * 1000 }' /proc/uptime\r");
    await galera.untilOutput(/shell-age-ms=\d+/);
    const age = Number(/shell-age-ms=(\d+)/.exec(galera.output)![1]);
    assert.ok(age > performance.now() - hello, `the shell is ${age} ms old: started after the hello, not in the pool`);
    assert.equal(await hostUid(galera), galeraPooled, 'the attendee got the pooled sandbox');
    await galera.untilOutput(/root@host:~# /);
    galera.type("echo setup-ran-$(grep -c '@host' /root/.bashrc)-times\r");
    await galera.untilOutput(/setup-ran-\d+-times/);
    assert.match(galera.output, /setup-ran-1-times/);
    await galera.close();

    await eventually(() => server.sessions.pool.waiting().some((w) => w.lesson === 'getting-started'), 'the pool refilled');
    assert.notEqual(server.sessions.pool.waiting().find((w) => w.lesson === 'getting-started')!.uid, pooled);
    await client.close();
  } finally {
    await server.stop();
  }
  assert.equal(server.backend.size, 0, 'stopping the server destroys the pooled sandboxes too');
});

test('at the room\'s cap a pooled sandbox gives way to an attendee\'s, and the pool does not grow past it', async () => {
  const server = await startTestServer({ poolSize: 1, maxSandboxes: 4 });
  try {
    await eventually(() => server.sessions.pool.size === 4, 'a full room of pooled sandboxes');
    const clients: TestClient[] = [];
    for (const lesson of ['getting-started', 'getting-started', 'getting-started']) {
      const client = new TestClient(server.url, await newAttendee(server.url));
      await client.hello(lesson);
      await client.ready();
      clients.push(client);
      assert.ok(server.backend.size <= 4, `${server.backend.size} sandboxes under a cap of 4`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // a refill would run now
    assert.ok(server.backend.size <= 4, `${server.backend.size} sandboxes under a cap of 4`);
    assert.equal(server.sessions.pool.size, 1, 'three attendees: one pooled sandbox was taken, two gave way');
    for (const client of clients) await client.close();
  } finally {
    await server.stop();
  }
});

test("a lesson whose setup keeps failing waits longer each time and does not keep the other lessons' pools empty", async () => {
  const server = await startTestServer({ lessonsDir: join(import.meta.dirname, 'fixtures/lessons'), poolSize: 1 });
  try {
    // broken-setup comes first and fails every time; the others still get their pooled sandbox.
    await eventually(() => pooledLessons(server).includes('slow-check') && pooledLessons(server).includes('slow-setup'), 'the other lessons pooled');
    assert.ok(!pooledLessons(server).includes('broken-setup'));
    assert.equal(server.sessions.pool.size, 2);
  } finally {
    await server.stop();
  }
  assert.equal(server.backend.size, 0, 'no sandbox of a failed setup is left behind');
});
