/**
 * The attendee's own sandboxes over HTTP (GET /api/sandboxes, POST /api/sandboxes/<lesson>/stop),
 * against a real server with real sandboxes: each attendee sees and stops only their own, a
 * stranger gets 401, a page elsewhere cannot stop anything (Origin), a stopped lesson keeps its
 * progress and comes back restored, and stopping one lets a lesson refused for the per-attendee
 * cap start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { SandboxList, StopResult } from '../../protocol/sandboxes.ts';
import { RESET_BY_ATTENDEE, STOPPED_BY_ATTENDEE } from '../src/sandboxes-api.ts';
import { join } from 'node:path';
import { openDatabase } from '../src/database.ts';
import { EventStore } from '../src/event-store.ts';
import { newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function api(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the attendee\'s sandboxes over HTTP', () => {
  let server: TestServer;
  let origin: string;
  const clients: TestClient[] = [];
  const open = async (cookie: string, lesson: string, terminal = 'main') => {
    const client = new TestClient(server.url, cookie);
    clients.push(client);
    await client.hello(lesson, terminal);
    return client;
  };
  const list = async (cookie: string) => {
    const answer = await api(server.port, 'GET', '/api/sandboxes', { cookie });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body as unknown as SandboxList;
  };
  const stop = (cookie: string, lesson: string, headers: Record<string, string> = { origin }) =>
    api(server.port, 'POST', `/api/sandboxes/${lesson}/stop`, { cookie, ...headers });

  before(async () => {
    server = await startTestServer(
      { uidBase: 740_000, uidCount: 100, maxSandboxesPerAttendee: 2, idleTimeoutMs: 600_000 },
      mkdtempSync('/tmp/wt-c-sandboxes-api-'),
    );
    origin = server.url;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  });

  test('each attendee lists only their own sandboxes: lesson, title, state, attached or since when not', async () => {
    const alice = await newAttendee(server.url);
    const bob = await newAttendee(server.url);
    const aliceGs = await open(alice, 'getting-started');
    const aliceZv = await open(alice, 'zerovm');
    const bobGs = await open(bob, 'getting-started');
    await Promise.all([aliceGs.ready(), aliceZv.ready(), bobGs.ready()]);

    const mine = await list(alice);
    assert.equal(mine.limit, 2);
    assert.deepEqual(mine.sandboxes, [
      { lesson: 'getting-started', title: 'Getting started', state: 'ready', attached: true },
      { lesson: 'zerovm', title: 'ZeroVM concepts', state: 'ready', attached: true },
    ]);
    assert.deepEqual((await list(bob)).sandboxes.map((s) => s.lesson), ['getting-started']);

    await aliceZv.close();
    await new Promise((r) => setTimeout(r, 300));
    const after = (await list(alice)).sandboxes.find((s) => s.lesson === 'zerovm')!;
    assert.equal(after.attached, false);
    assert.ok(after.detachedForMs! >= 200 && after.detachedForMs! < 60_000, JSON.stringify(after));
    assert.ok(Math.abs(Date.parse(after.detachedSince!) - (Date.now() - after.detachedForMs!)) < 5_000, JSON.stringify(after));
    assert.equal(after.state, 'ready', 'detached, it still runs (until the caps need its place or it idles out)');

    // A stranger is told so, and is not issued an identity here.
    const none = await api(server.port, 'GET', '/api/sandboxes');
    assert.equal(none.status, 401);
    assert.equal(none.headers['set-cookie'], undefined);
    await Promise.all([aliceGs.close(), bobGs.close()]);
  });

  test('401 for a forged or altered cookie, on the list and on a stop', async () => {
    const cookie = await newAttendee(server.url);
    const [, value] = cookie.split('=');
    const [id, mac] = value!.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const forged of [`opslab_attendee=${id}`, `opslab_attendee=${id}.${flip(mac!)}`, `opslab_attendee=${flip(id!)}.${mac}`, 'opslab_attendee=AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA']) {
      const listed = await api(server.port, 'GET', '/api/sandboxes', { cookie: forged });
      assert.equal(listed.status, 401, forged);
      assert.match(String(listed.body.error), /no attendee cookie/);
      assert.equal((await stop(forged, 'getting-started')).status, 401, forged);
    }
  });

  test('a stop needs the workshop\'s own Origin (CSRF); bad methods, paths and lessons get clear 4xx answers; nothing stops the server', async () => {
    const alice = await newAttendee(server.url);
    const client = await open(alice, 'getting-started');
    await client.ready();
    const foreign: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: `https://127.0.0.1:${server.port}` },
      { origin: `http://127.0.0.1:${server.port + 1}` },
      { origin: 'null' },
      {}, // no Origin at all: not a page of ours
    ];
    for (const headers of foreign) {
      const answer = await stop(alice, 'getting-started', headers);
      assert.equal(answer.status, 403, JSON.stringify(headers));
      assert.match(String(answer.body.error), /forbidden origin/);
    }
    assert.deepEqual((await list(alice)).sandboxes.map((s) => [s.lesson, s.state]), [['getting-started', 'ready']], 'still running');

    const cases: Array<[string, string, number, RegExp]> = [
      ['GET', '/api/sandboxes/getting-started/stop', 405, /use POST/],
      ['DELETE', '/api/sandboxes/getting-started/stop', 405, /use POST/],
      ['POST', '/api/sandboxes', 405, /use GET/],
      ['PUT', '/api/sandboxes', 405, /use GET/],
      ['POST', '/api/sandboxes/no-such-lesson/stop', 404, /there is no lesson "no-such-lesson"/],
      ['POST', '/api/sandboxes/Getting_Started/stop', 400, /malformed lesson name/],
      ['POST', '/api/sandboxes/%zz/stop', 400, /malformed lesson name/],
      ['POST', '/api/sandboxes/%2e%2e/stop', 404, /no such endpoint: \/api\/stop/], // the URL parser resolves the dots
      ['POST', '/api/sandboxes//stop', 400, /malformed lesson name/],
      ['POST', `/api/sandboxes/${'a'.repeat(65)}/stop`, 400, /malformed lesson name/],
      ['POST', '/api/sandboxes/getting-started/start', 404, /no such endpoint/],
      ['POST', '/api/sandboxes/getting-started/stop/now', 404, /no such endpoint/],
      ['GET', '/api/sandboxes/', 404, /no such endpoint/],
    ];
    for (const [method, path, status, error] of cases) {
      const answer = await api(server.port, method, path, { cookie: alice, origin });
      assert.equal(answer.status, status, `${method} ${path}: ${JSON.stringify(answer.body)}`);
      assert.match(String(answer.body.error), error, `${method} ${path}`);
      assert.match(String(answer.headers['content-type']), /application\/json/);
    }
    assert.equal((await api(server.port, 'GET', '/api/sandboxes/getting-started/stop', { cookie: alice })).headers.allow, 'POST');

    // Another attendee cannot stop it: for them there is nothing of that lesson to stop.
    const bob = await newAttendee(server.url);
    const theirs = await stop(bob, 'getting-started');
    assert.equal(theirs.status, 200);
    assert.equal((theirs.body as unknown as StopResult).stopped, false);
    assert.deepEqual((await list(alice)).sandboxes.map((s) => s.lesson), ['getting-started'], 'alice\'s sandbox still runs');
    assert.equal(client.statuses.at(-1)?.state, 'ready');

    assert.equal((await api(server.port, 'GET', '/api/health')).status, 200);
    await client.close();
  });

  test('stop: the attached terminal is told why, progress stays, and the lesson comes back restored', async () => {
    const alice = await newAttendee(server.url);
    const client = await open(alice, 'getting-started');
    await client.ready();
    client.type("echo 'Hello, Opslab!' > ~/hello.txt; echo wrote-$((1+1))\r");
    await client.untilOutput(/wrote-2/);
    assert.equal((await client.check('create-file')).passed, true);

    const answer = await stop(alice, 'getting-started');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const result = answer.body as unknown as StopResult;
    assert.equal(result.lesson, 'getting-started');
    assert.equal(result.stopped, true);
    assert.deepEqual(result.sandboxes, [], 'the answer carries the list after the stop');

    // The tab is told, and that is the last word it hears (not "the shell exited").
    await client.until(() => client.statuses.at(-1)?.message === STOPPED_BY_ATTENDEE, 'the stop reported to the attached terminal', 10_000);
    assert.equal(client.statuses.at(-1)?.state, 'error');
    assert.equal(client.closeCode, undefined, 'the socket stays open: the page does not reconnect by itself');
    assert.deepEqual((await list(alice)).sandboxes, []);
    assert.equal((await stop(alice, 'getting-started')).body.stopped, false, 'a second stop finds nothing to stop');

    const progress = await api(server.port, 'GET', '/api/progress', { cookie: alice });
    const lessons = progress.body.lessons as Record<string, { done: number; steps: Record<string, { status: string }> }>;
    assert.equal(lessons['getting-started']!.steps['create-file']!.status, 'passed');

    // Reconnecting (the page's Reconnect button) re-creates the sandbox and replays the step.
    await client.close();
    const back = await open(alice, 'getting-started');
    await back.ready();
    assert.ok(back.statuses.some((s) => s.state === 'restoring'), JSON.stringify(back.statuses));
    assert.deepEqual(back.statuses.find((s) => s.state === 'ready')?.restoredSteps, ['create-file']);
    back.type('cat ~/hello.txt\r');
    await back.untilOutput(/Hello, Opslab!\r\n.*[#$] $/s);
    assert.equal((await back.check('create-file')).passed, true);
    await back.close();
  });

  test('reset: the lesson starts over — the terminal is told, progress is forgotten, the next sandbox is fresh with nothing replayed', async () => {
    const carol = await newAttendee(server.url);
    const client = await open(carol, 'getting-started');
    await client.ready();
    assert.equal((await client.solve('create-file')).passed, true);
    const other = await newAttendee(server.url);
    assert.equal((await api(server.port, 'POST', '/api/sandboxes/getting-started/reset', { cookie: other })).status, 403, 'no Origin: refused');

    const carolId = carol.split('=')[1]!.split('.')[0]!;
    const before = openDatabase(server.config.databasePath);
    assert.equal((await new EventStore(before).attempts(carolId, 'getting-started')).length, 1);
    before.close();
    const answer = await api(server.port, 'POST', '/api/sandboxes/getting-started/reset', { cookie: carol, origin });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal((answer.body as unknown as StopResult).stopped, true);
    await client.until(() => client.statuses.at(-1)?.message === RESET_BY_ATTENDEE, 'the reset reported to the attached terminal', 10_000);
    const progress = await api(server.port, 'GET', '/api/progress', { cookie: carol });
    assert.deepEqual((progress.body.lessons as Record<string, { done: number; steps: object }>)['getting-started'], { total: 4, done: 0, steps: {} });
    // The grid and the export count attempts since the reset only; the history keeps them.
    const db = openDatabase(server.config.databasePath);
    try {
      const id = carol.split('=')[1]!.split('.')[0]!;
      assert.deepEqual(await new EventStore(db).attempts(id, 'getting-started'), []);
      assert.equal((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM check_attempts WHERE attendee = ?', [id]))!.n, 1);
    } finally {
      db.close();
    }

    await client.close();
    const fresh = await open(carol, 'getting-started');
    await fresh.ready();
    assert.ok(!fresh.statuses.some((s) => s.state === 'restoring'), JSON.stringify(fresh.statuses));
    fresh.type('ls ~/hello.txt; echo listed-$((2+2))\r');
    await fresh.untilOutput(/No such file or directory[\s\S]*listed-4/);
    assert.equal((await fresh.check('create-file')).passed, false);
    await fresh.close();
  });

  test('at the per-attendee cap with every sandbox in use, the refusal points at the list; stopping one lets the lesson start', async () => {
    const alice = await newAttendee(server.url);
    const first = await open(alice, 'getting-started');
    const second = await open(alice, 'zerovm');
    await Promise.all([first.ready(), second.ready()]);

    const third = await open(alice, 'galera', 'host');
    await third.until(() => third.closeCode !== undefined, 'the refusal');
    assert.equal(third.errors.at(-1)?.code, 'capacity');
    assert.match(third.errors.at(-1)!.message, /You already have 2 sandboxes in use \(getting-started, zerovm\); the limit is 2\. Stop one below, or close one of those lessons' tabs\./);
    assert.deepEqual((await list(alice)).sandboxes.map((s) => [s.lesson, s.attached]), [['getting-started', true], ['zerovm', true]], 'nothing was reclaimable');

    assert.equal((await stop(alice, 'zerovm')).body.stopped, true);
    await second.until(() => second.statuses.at(-1)?.message === STOPPED_BY_ATTENDEE, 'the stop reported');
    const retry = await open(alice, 'galera', 'host');
    await retry.until(() => retry.statuses.some((s) => s.state === 'ready'), 'galera ready', 60_000);
    assert.deepEqual((await list(alice)).sandboxes.map((s) => s.lesson), ['getting-started', 'galera']);
    assert.equal(first.statuses.at(-1)?.state, 'ready', 'the other lesson was left alone');
    await Promise.all([first.close(), second.close(), retry.close()]);
  });
});

describe('a sandbox still starting', () => {
  test('is not stopped (409): its start runs to its end and the terminal gets its shell', async () => {
    const server = await startTestServer({ lessonsDir: join(import.meta.dirname, 'fixtures/lessons') });
    try {
      const cookie = await newAttendee(server.url);
      const client = new TestClient(server.url, cookie);
      await client.hello('slow-setup');
      await client.until(() => client.statuses.some((s) => s.message === 'Setting up the lesson in your sandbox…'), 'the setup stage');
      const answer = await api(server.port, 'POST', '/api/sandboxes/slow-setup/stop', { cookie, origin: server.url });
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assert.match(String(answer.body.error), /still starting/);
      await client.ready();
      const stopped = await api(server.port, 'POST', '/api/sandboxes/slow-setup/stop', { cookie, origin: server.url });
      assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
      await client.close();
    } finally {
      await server.stop();
    }
  });
});
