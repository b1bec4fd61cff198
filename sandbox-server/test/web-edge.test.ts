/**
 * The web edge, attacked as a stranger would: header fuzzing, forged identities, foreign origins
 * and host names, a client minting attendees to take the room's sandboxes, half-open connections,
 * and a sandbox torn down while the process has no file descriptor left.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { eventually, newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';

const LESSON = 'getting-started';

interface RawResponse {
  /** 0: the server closed the connection without an answer. */
  status: number;
  headers: string;
  body: string;
}

/** Sends bytes as they are (no client-side validation of methods or header values); reads the answer. */
function rawRequest(port: number, text: string, localAddress?: string): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
    });
    // Not half-closed: the answer comes with Connection: close. The timer is a safety net only.
    socket.write(text);
    socket.setTimeout(20_000, () => socket.destroy());
  });
}

const request = (port: number, method: string, path: string, headers: Record<string, string>, localAddress?: string) =>
  rawRequest(port, `${method} ${path} HTTP/1.1\r\n${Object.entries({ connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, localAddress);

/** The upgrade's answer: 101, or the status it was refused with. */
function upgradeStatus(url: string, headers: Record<string, string>, localAddress?: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers, localAddress });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => resolve(0));
  });
}

describe('the web edge', () => {
  let server: TestServer;
  let host: string;
  before(async () => {
    server = await startTestServer({ publicOrigins: ['https://workshop.example'] });
    host = `127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.stop();
  });

  test('a Range the file cannot satisfy (bytes=5-3) gets 416; the server keeps serving', async () => {
    const reversed = await request(server.port, 'GET', '/', { host, range: 'bytes=5-3' });
    assert.equal(reversed.status, 416, reversed.headers);
    assert.match(reversed.headers, /content-range: bytes \*\/\d+/i);
    const ranged = await request(server.port, 'GET', '/', { host, range: 'bytes=0-9', 'accept-encoding': 'identity' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.body.length, 10);
    assert.equal((await request(server.port, 'GET', '/api/health', { host })).status, 200);
  });

  test('fuzzed headers and methods never get a 5xx and never stop the server', async () => {
    const asset = `/_astro/${readdirSync(`${server.config.siteDir}/_astro`).find((f) => f.endsWith('.js'))}`;
    const printable = (max: number) => fc.string({ maxLength: max }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));
    const header = (...known: string[]) => fc.oneof(fc.constantFrom(...known), printable(60));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'M-SEARCH', 'BREW', 'get', 'CONNECT'),
        fc.constantFrom('/', `/lessons/${LESSON}/`, `/lessons/${LESSON}`, asset, '/api/progress', '/api/sandboxes', `/api/sandboxes/${LESSON}/stop`, '/api/sandboxes/%2e%2e/stop', '/api/health', '/ws', '/no/such/page', '*'),
        fc.record({
          range: header('bytes=5-3', 'bytes=-5', 'bytes=0-', 'bytes=0-0,2-3,1-1', 'bytes=999999999999-', 'bytes=abc', 'pages=1-2', 'bytes=-0', 'bytes=18446744073709551616-', 'bytes=0-18446744073709551616', 'bytes='),
          'if-range': header('W/"x"', '"x"', 'Thu, 01 Jan 1970 00:00:00 GMT', 'yesterday'),
          'if-none-match': header('*', 'W/"1-2"', '"', ',,,'),
          'if-modified-since': header('Thu, 01 Jan 2099 00:00:00 GMT', 'not a date'),
          'accept-encoding': header('br', 'gzip', 'br;q=0, gzip;q=0', 'identity;q=0', '*', 'gzip;q=abc', ';;;'),
          host: header(host, 'localhost', 'workshop.example', 'evil.example', `evil.example:${server.port}`, '[::1', '', 'a b', 'localhost:99999'),
          cookie: header('opslab_attendee=x', 'opslab_attendee=AAAAAAAAAAAAAAAAAAAAAA', 'opslab_attendee=AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', '=;=;', 'a=b; opslab_attendee=..'),
          'content-length': header('0', '-1', '5', '99999999999999999999', 'abc', '1, 2'),
          'transfer-encoding': header('chunked', 'gzip', 'chunked, chunked', 'identity'),
          origin: header('null', 'https://workshop.example', 'http://evil.example'),
          upgrade: header('websocket', 'h2c'),
        }, { requiredKeys: [] }),
        async (method, path, fields) => {
          const { status, headers: head } = await request(server.port, method, path, fields as Record<string, string>);
          assert.ok(status === 0 || (status >= 200 && status < 500), `${method} ${path} ${JSON.stringify(fields)} → ${status}: ${head}`);
        },
      ),
      { numRuns: 400, examples: [['GET', '/', { range: 'bytes=5-3', host }]] },
    );
    assert.equal((await request(server.port, 'GET', '/api/health', { host })).status, 200);
  });

  test('the Host must name one of the public origins (DNS rebinding)', async () => {
    assert.equal((await request(server.port, 'GET', '/', { host: `evil.example:${server.port}` })).status, 421);
    assert.equal((await request(server.port, 'GET', '/api/progress', { host: 'evil.example' })).status, 421);
    assert.equal((await request(server.port, 'GET', '/', {})).status, 400); // HTTP/1.1 without a Host
    // Except the health check: a load balancer's or a kubelet's probe names the node by its address, and gets no identity.
    const probe = await request(server.port, 'GET', '/api/health', { host: `10.1.2.3:${server.port}` });
    assert.equal(probe.status, 200);
    assert.doesNotMatch(probe.headers, /set-cookie/i);
    for (const good of [host, `localhost:${server.port}`, 'workshop.example', 'workshop.example:443']) {
      assert.equal((await request(server.port, 'GET', '/', { host: good })).status, 200, good);
    }
  });

  test('the WebSocket Origin must be a public origin exactly: scheme, host and port', async () => {
    const cookie = await newAttendee(server.url);
    const url = server.url;
    assert.equal(await upgradeStatus(url, { cookie, origin: `https://127.0.0.1:${server.port}` }), 403, 'another scheme');
    assert.equal(await upgradeStatus(url, { cookie, origin: `http://127.0.0.1:${server.port + 1}` }), 403, 'another port');
    assert.equal(await upgradeStatus(url, { cookie, origin: 'http://workshop.example' }), 403, 'the public name over http');
    assert.equal(await upgradeStatus(url, { cookie, origin: `http://evil.example:${server.port}`, host: `evil.example:${server.port}` }), 421, 'a rebinding page');
    assert.equal(await upgradeStatus(url, { cookie, origin: `http://evil.example:${server.port}` }), 403, 'a foreign page');
    assert.equal(await upgradeStatus(url, { cookie, origin: url }), 101);
    assert.equal(await upgradeStatus(url, { cookie, origin: 'https://workshop.example', host: 'workshop.example' }), 101, 'behind a TLS proxy');
  });

  test('identities are issued and signed by the server: a made-up or altered cookie is a stranger', async () => {
    const cookie = await newAttendee(server.url);
    const [, value] = cookie.split('=');
    const [id, mac] = value!.split('.');
    assert.match(id!, /^[A-Za-z0-9_-]{22}$/);
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const forged of [`opslab_attendee=${id}`, `opslab_attendee=${flip(id!)}.${mac}`, `opslab_attendee=${id}.${flip(mac!)}`, 'opslab_attendee=AAAAAAAAAAAAAAAAAAAAAA']) {
      assert.equal(await upgradeStatus(server.url, { cookie: forged, origin: server.url }), 401, forged);
      const page = await request(server.port, 'GET', '/api/progress', { host, cookie: forged });
      const issued = /set-cookie: opslab_attendee=([^.;]+)\./i.exec(page.headers)?.[1];
      assert.ok(issued && issued !== id && issued !== forged.split('=')[1], `a forged cookie gets a new identity: ${page.headers}`);
    }
    assert.equal(await upgradeStatus(server.url, { cookie, origin: server.url }), 101);
    assert.doesNotMatch((await request(server.port, 'GET', '/api/progress', { host, cookie })).headers, /set-cookie/i, 'a signed cookie is kept');
  });

  test('an unsigned id issued before identities were signed keeps its progress: it is signed once, same id', async () => {
    const legacy = 'L'.repeat(21) + 'x';
    await server.store.record({ attendee: legacy, lesson: LESSON, step: 'create-file', passed: true, solved: false, feedback: 'ok' });
    const page = await request(server.port, 'GET', '/api/progress', { host, cookie: `opslab_attendee=${legacy}` });
    assert.match(page.headers, new RegExp(`set-cookie: opslab_attendee=${legacy}\\.`, 'i'));
    assert.match(page.body, /"create-file":\{"status":"passed"/);
    const stranger = await request(server.port, 'GET', '/api/progress', { host, cookie: `opslab_attendee=${'S'.repeat(22)}` });
    assert.doesNotMatch(stranger.headers, /set-cookie: opslab_attendee=SSSS/i, 'an unknown unsigned id is not adopted');
  });

  test('a cookie signed by another server (another key) is a stranger here', async () => {
    const other = await startTestServer();
    try {
      const theirs = await newAttendee(other.url);
      assert.equal(await upgradeStatus(server.url, { cookie: theirs, origin: server.url }), 401);
    } finally {
      await other.stop();
    }
  });
});

describe('one client minting attendees', () => {
  // Small numbers, same rules as the defaults (200 in all, 150 per address, 3 per attendee).
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxSandboxes: 4, maxSandboxesPerAddress: 3, idleTimeoutMs: 600_000 });
  });
  after(async () => {
    await server.stop();
  });

  test('holds at most its address\'s share; a newcomer from another address gets in; closed sockets free their places', async () => {
    const hostile: TestClient[] = [];
    for (let i = 0; i < 5; i++) {
      const client = new TestClient(server.url, await newAttendee(server.url, '127.0.0.1'), { localAddress: '127.0.0.1' });
      await client.hello(LESSON);
      hostile.push(client);
    }
    const outcome = async (c: TestClient) => {
      await c.until(() => c.errors.length > 0 || (c.statuses.some((s) => s.state === 'ready') && /[#$] $/.test(c.output)), 'a prompt or a refusal', 60_000);
      return c.errors[0]?.code ?? 'ready';
    };
    const outcomes = await Promise.all(hostile.map(outcome));
    assert.equal(outcomes.filter((o) => o === 'ready').length, 3, JSON.stringify(outcomes));
    const refusal = hostile.find((c) => c.errors.length > 0)!.errors[0]!;
    assert.equal(refusal.code, 'capacity');
    assert.match(refusal.message, /Your network already uses 3 sandboxes/);

    const newcomer = new TestClient(server.url, await newAttendee(server.url, '127.0.0.2'), { localAddress: '127.0.0.2' });
    await newcomer.hello(LESSON);
    await newcomer.ready();

    // The room is full now (3 + 1). Sockets closed, the hostile sandboxes hold no place any more.
    await Promise.all(hostile.map((c) => c.close()));
    const late = new TestClient(server.url, await newAttendee(server.url, '127.0.0.3'), { localAddress: '127.0.0.3' });
    await late.hello(LESSON);
    await late.ready();
    assert.equal(server.backend.size, 4);
    await Promise.all([newcomer.close(), late.close()]);
  });

  test('an attendee who left three lessons opens a fourth: the one left longest ago makes room', async () => {
    const cookie = await newAttendee(server.url, '127.0.0.4');
    for (const [lesson, terminal] of [['zerovm', 'main'], ['pxe', 'server'], ['galera', 'host']]) {
      const client = new TestClient(server.url, cookie, { localAddress: '127.0.0.4' });
      await client.hello(lesson!, terminal);
      await client.until(() => client.statuses.some((s) => s.state === 'ready'), `${lesson} ready`, 120_000);
      await client.close();
    }
    const fourth = new TestClient(server.url, cookie, { localAddress: '127.0.0.4' });
    await fourth.hello('getting-started');
    await fourth.ready();
    await fourth.close();
  });
});

describe('slow clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ slowClients: { maxHalfOpenPerAddress: 40 } });
  });
  after(async () => {
    await server.stop();
  });

  test('half-sent requests: at most the bound per address, others still served, and the server closes them itself', async () => {
    const sockets: Socket[] = [];
    let closedByServer = 0;
    await Promise.all(
      Array.from({ length: 70 }, () =>
        new Promise<void>((resolve) => {
          const socket = connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.1' }, () => {
            socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Slow: `); // never finished
            resolve();
          });
          socket.on('error', () => undefined);
          socket.on('close', () => closedByServer++);
          socket.resume(); // read the server's answer (a 408), so its close is seen
          sockets.push(socket);
        }),
      ),
    );
    const looking = { timeoutMs: 120_000, everyMs: 100 };
    await eventually(() => closedByServer >= 30, () => `30 of 70 refused at once (closed so far: ${closedByServer})`, looking);
    const health = await request(server.port, 'GET', '/api/health', { host: `127.0.0.1:${server.port}` }, '127.0.0.2');
    assert.equal(health.status, 200, 'another connection is still served');
    assert.match(health.body, /"halfOpen":40/);
    // Node's default would hold them for a minute; the server's own header timeout ends them.
    await eventually(() => closedByServer === 70, () => `every half-sent request closed by the server (so far ${closedByServer})`, looking);
    for (const s of sockets) s.destroy();
  });
});

describe('out of file descriptors', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  test('a sandbox torn down while no descriptor is free finishes its teardown once there are: no cgroup or uid leaks', async () => {
    const sandbox = await server.backend.create({ id: 'emfile', lessonDir: `${server.config.stagingDir}/lessons/${LESSON}`, limits: server.config.profiles.small.limits });
    const group = `u${sandbox.uid}`;
    assert.ok(server.backend.cgroupNames().includes(group));
    // Take every descriptor this process may open (the server runs in it), as a flood of connections
    // would: at the sandbox's death (before its teardown's first read of /proc), and again whenever
    // one is freed (its pipes closing), as a flood's next accept would.
    const held: number[] = [];
    const grab = () => {
      try {
        for (;;) held.push(openSync('/dev/null', 'r'));
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'EMFILE');
      }
    };
    sandbox.onExit(grab);
    const grabbing = setInterval(grab, 1);
    let destroyed = false;
    const destroying = sandbox.destroy().then(() => (destroyed = true));
    await new Promise((r) => setTimeout(r, 1500));
    const stillTrying = !destroyed;
    clearInterval(grabbing);
    for (const fd of held) closeSync(fd);
    assert.ok(stillTrying, 'the teardown waited for descriptors instead of giving up');
    await destroying;
    assert.ok(!server.backend.cgroupNames().includes(group), 'its cgroups were removed');
    assert.equal(server.backend.leasedUids, 0, 'its uid went back to the pool');
  });
});
