/**
 * Integration tests: the real server (real bubblewrap sandboxes, real bash on a real pty) on a
 * free port, driven by a real `ws` client over loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { get, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import WebSocket from 'ws';
import { ClientOp, encodeHello } from '../../protocol/messages.ts';
import { newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';

const LESSON = 'getting-started';

describe('sandbox server over WebSocket', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  test('the built site is sent brotli- or gzip-compressed to browsers that accept it, identical once decoded', async () => {
    const page = join(server.config.siteDir, 'lessons', LESSON, 'index.html');
    for (const [accept, encoding, decode] of [
      ['br, gzip', 'br', brotliDecompressSync],
      ['gzip', 'gzip', gunzipSync],
    ] as const) {
      const response = await rawGet(`${server.url}/lessons/${LESSON}/`, { 'accept-encoding': accept });
      assert.equal(response.headers['content-encoding'], encoding);
      assert.match(String(response.headers.vary), /accept-encoding/i);
      assert.deepEqual(decode(response.body), readFileSync(page));
    }
    const plain = await rawGet(`${server.url}/lessons/${LESSON}/`, {});
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(plain.body, readFileSync(page));
  });

  test('hello → a prompt of a real bash in a sandbox; input → output', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    client.type('echo "sum=$((6*7))"; id -u; hostname\r');
    await client.untilOutput(/sum=42\r\n0\r\nopslab\r\n/);
    await client.close();
  });

  test('keys typed right after the hello, while the sandbox starts, reach the shell once it is there', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    client.type('echo typed-$((40+2))-early\r');
    await client.untilOutput(/typed-42-early/, 30_000);
    assert.ok(client.statuses.some((s) => s.state === 'ready'));
    assert.deepEqual(client.errors, [], 'no key was refused as "not ready"');
    await client.close();
  });

  test('a start says what it is doing: its stages in words, how long so far, and a progress bar that only moves forward', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    const starting = client.statuses.filter((s) => s.state === 'starting');
    const messages = starting.map((s) => s.message);
    assert.ok(messages.includes('Creating your sandbox…'), JSON.stringify(messages));
    assert.ok(messages.includes('Setting up the lesson in your sandbox…'), JSON.stringify(messages));
    for (const status of starting) assert.equal(typeof status.elapsedMs, 'number', JSON.stringify(status));
    const counted = starting.filter((s) => s.progress);
    assert.ok(counted.length >= 2, JSON.stringify(starting));
    for (const status of counted) assert.ok(status.progress!.done <= status.progress!.total, JSON.stringify(status));
    const done = counted.map((s) => s.progress!.done);
    assert.deepEqual(done, [...done].sort((a, b) => a - b), 'progress never goes back');
    assert.ok(done[done.length - 1]! > done[0]!, `progress moved: ${done}`);
    await client.close();
  });

  test('"Solve it for me" says what it did: the solve script as run and its output', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    const result = await client.solve('create-file');
    assert.equal(result.passed, true, result.feedback);
    const script = readFileSync(join(server.config.lessonsDir, LESSON, 'steps', 'create-file', 'solve.sh'), 'utf8');
    assert.ok(result.solve, 'the result carries the trace');
    assert.equal(result.solve.ok, true);
    assert.ok(script.includes(result.solve.script) && result.solve.script.length > 0, result.solve.script);
    assert.doesNotMatch(result.solve.script, /^#!/);
    const check = await client.check('create-file');
    assert.equal(check.solve, undefined, 'a plain Check carries no trace');
    await client.close();
  });

  test('a terminal with a command gets it typed after its first prompt, as if by hand', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello('galera', 'mariadb-02');
    await client.untilOutput(/is not running/);
    // The command's one echo follows the prompt (bash wraps its prompt in bracketed-paste codes).
    const at = client.output.indexOf('vagrant ssh mariadb-02');
    assert.equal(client.output.slice(at - 'root@host:~# '.length, at), 'root@host:~# ', JSON.stringify(client.output));
    assert.equal(client.output.lastIndexOf('vagrant ssh mariadb-02'), at);
    await client.close();
  });

  test('keys typed before a terminal\'s own command is typed follow the command, never precede it', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello('galera', 'mariadb-02');
    client.type('sudo su -\r');
    await client.untilOutput(/is not running/, 30_000);
    assert.ok(client.output.includes('root@host:~# vagrant ssh mariadb-02'), JSON.stringify(client.output));
    assert.doesNotMatch(client.output, /su -vagrant ssh/);
    await client.close();
  });

  test('resize reaches the pty', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON, 'main', 80, 24);
    await client.ready();
    client.send({ op: 'resize', cols: 132, rows: 41 });
    client.type('stty size\r');
    await client.untilOutput(/41 132/);
    await client.close();
  });

  test('a hello in the upgrade\'s URL starts the terminal without a first frame; a resize sent while it starts sizes it', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url), { helloInUrl: encodeHello({ lesson: LESSON, terminal: 'main', cols: 80, rows: 24 }) });
    await client.opened();
    // Sent at once: the sandbox takes far longer than this to start, so it arrives while the terminal is
    // starting — where it used to be refused as 'not-ready' and the shell kept the hello's 80×24.
    client.send({ op: 'resize', cols: 101, rows: 33 });
    await client.ready();
    client.type('stty size\r');
    await client.untilOutput(/33 101/);
    assert.deepEqual(client.errors, []);
    await client.close();
  });

  test('a hello in the URL attaching to a shell that is there (a reload) leaves its size to the page', async () => {
    const cookie = await newAttendee(server.url);
    const first = new TestClient(server.url, cookie);
    await first.hello(LESSON, 'main', 120, 40);
    await first.ready();
    await first.close();
    // The URL's hello guesses 80×24: the shell keeps 120×40 until the page says its size.
    const reload = new TestClient(server.url, cookie, { helloInUrl: encodeHello({ lesson: LESSON, terminal: 'main', cols: 80, rows: 24 }) });
    await reload.ready();
    reload.type('stty size\r');
    await reload.untilOutput(/40 120/);
    reload.send({ op: 'resize', cols: 99, rows: 30 });
    reload.type('stty size\r');
    await reload.untilOutput(/30 99/);
    await reload.close();
  });

  test('a bad hello in the upgrade\'s URL gets the bad first frame\'s answer; after it, text frames are refused', async () => {
    const cookie = await newAttendee(server.url);
    const bad = new TestClient(server.url, cookie, { helloInUrl: '{"type":"hello","v":1,"lesson":"../etc","terminal":"main","cols":80,"rows":24}' });
    await bad.until(() => bad.closeCode !== undefined, 'the close');
    assert.equal(bad.closeCode, 1008);
    assert.equal(bad.errors[0]?.code, 'bad-hello');
    assert.match(bad.errors[0]!.message, /lesson/);

    const good = new TestClient(server.url, cookie, { helloInUrl: encodeHello({ lesson: LESSON, terminal: 'main', cols: 80, rows: 24 }) });
    await good.ready();
    good.ws.send(encodeHello({ lesson: LESSON, terminal: 'main', cols: 80, rows: 24 }));
    await good.until(() => good.errors.length === 1, 'an error for a second hello');
    assert.equal(good.errors[0]!.code, 'bad-frame');
    assert.match(good.errors[0]!.message, /only binary frames/);
    await good.close();
  });

  test('Ctrl-C interrupts a running command; Ctrl-Z, jobs and fg work (job control)', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    client.type('sleep 300; echo finished-$?\r');
    await new Promise((r) => setTimeout(r, 300));
    client.type('\x03');
    await client.untilOutput(/\^C/);
    client.type('echo after-interrupt\r');
    await client.untilOutput(/[\r\n]after-interrupt\r\n/);
    assert.doesNotMatch(client.output, /finished-0/);
    client.type('sleep 301\r');
    await new Promise((r) => setTimeout(r, 300));
    client.type('\x1a');
    await client.untilOutput(/Stopped\s+sleep 301/);
    client.type('jobs -l\r');
    await client.untilOutput(/\[1\]\+\s+\d+ Stopped\s+sleep 301/);
    client.type('fg\r');
    await client.untilOutput(/[\r\n]sleep 301\r\n/);
    client.type('\x03');
    client.type('echo back-$?\r');
    await client.untilOutput(/back-130/);
    await client.close();
  });

  test('CHECK fails, the attendee does the step, CHECK passes; progress is recorded', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    const first = await client.check('create-file');
    assert.equal(first.passed, false);
    assert.match(first.feedback, /no ~\/hello.txt/);
    client.type("echo 'Hello, world' > ~/hello.txt\r");
    await new Promise((r) => setTimeout(r, 300));
    const wrong = await client.check('create-file');
    assert.equal(wrong.passed, false);
    assert.match(wrong.feedback, /expected exactly/);
    client.type("echo 'Hello, Opslab!' > ~/hello.txt\r");
    await new Promise((r) => setTimeout(r, 300));
    const right = await client.check('create-file');
    assert.equal(right.passed, true, right.feedback);
    assert.equal(right.solved, false);
    await client.until(() => client.progress?.steps['create-file']?.status === 'passed', 'progress to show the pass');
    assert.equal(client.progress!.steps['create-file']!.attempts, 3);
    await client.close();
  });

  test('an answer step compares the answer with the real state', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    await client.solve('create-file');
    await client.solve('start-server');
    const wrong = await client.check('read-header', 'nginx/1.25');
    assert.equal(wrong.passed, false);
    client.type('curl -sI http://localhost:8000/hello.txt | grep -i ^server:\r');
    await client.untilOutput(/Server: (SimpleHTTP\/[\d.]+ Python\/[\d.]+)/);
    const header = /Server: (SimpleHTTP\/[\d.]+ Python\/[\d.]+)/.exec(client.output)![1]!;
    const right = await client.check('read-header', `  ${header} `);
    assert.equal(right.passed, true, right.feedback);
    await client.close();
  });

  test('SOLVE runs solve.sh and records the step as solved with help', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    const result = await client.solve('create-file');
    assert.equal(result.passed, true, result.feedback);
    assert.equal(result.solved, true);
    await client.until(() => client.progress?.steps['create-file']?.status === 'solved', 'progress to say solved');
    client.type('cat ~/hello.txt\r');
    await client.untilOutput(/[\r\n]Hello, Opslab!\r\n/);
    await client.close();
  });

  test('a bad first frame gets an error and a close with 1008', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.opened();
    client.ws.send('{"type":"hello","v":1,"lesson":"../etc","terminal":"main","cols":80,"rows":24}');
    await client.until(() => client.closeCode !== undefined, 'the close');
    assert.equal(client.closeCode, 1008);
    assert.equal(client.errors[0]?.code, 'bad-hello');
    assert.match(client.errors[0]!.message, /lesson/);
  });

  test('a binary first frame and an unknown lesson are refused clearly', async () => {
    const cookie = await newAttendee(server.url);
    const binary = new TestClient(server.url, cookie);
    await binary.opened();
    binary.ws.send(Buffer.from([ClientOp.INPUT, 0x41]));
    await binary.until(() => binary.closeCode !== undefined, 'the close');
    assert.equal(binary.closeCode, 1008);
    assert.equal(binary.errors[0]?.code, 'bad-hello');

    const unknown = new TestClient(server.url, cookie);
    await unknown.hello('no-such-lesson');
    await unknown.until(() => unknown.closeCode !== undefined, 'the close');
    assert.equal(unknown.errors[0]?.code, 'unknown-lesson');
  });

  test('invalid frames after the hello get errors, then a 1008 close; the server serves others meanwhile', async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    client.ws.send(Buffer.from([0x7f]));
    await client.until(() => client.errors.length === 1, 'an error for an unknown opcode');
    assert.match(client.errors[0]!.message, /unknown opcode 0x7f/);
    assert.equal(client.closeCode, undefined);
    client.ws.send(Buffer.from([ClientOp.RESIZE, 1]));
    client.ws.send(Buffer.from([ClientOp.CHECK, ...Buffer.from('{"step":1}')]));
    client.ws.send('text after hello');
    client.ws.send(Buffer.alloc(0));
    await client.until(() => client.closeCode !== undefined, 'the close');
    assert.equal(client.closeCode, 1008);
    assert.equal(client.errors.length, 5);

    const other = new TestClient(server.url, await newAttendee(server.url));
    await other.hello(LESSON);
    await other.ready();
    await other.close();
  });

  test('the upgrade needs the attendee cookie and a same-origin page', async () => {
    const refused = async (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
      });
    const cookie = await newAttendee(server.url);
    assert.equal(await refused({ origin: server.url }), 401);
    assert.equal(await refused({ origin: 'http://evil.example', cookie }), 403);
    assert.equal(await refused({ cookie }), 403);
  });

  test('reattach: a new connection gets the same shell and a replay of recent output', async () => {
    const cookie = await newAttendee(server.url);
    const first = new TestClient(server.url, cookie);
    await first.hello(LESSON);
    await first.ready();
    first.type('export OPSLAB_MARK=kept-$((40+2))\r');
    first.type('echo before-reload\r');
    await first.untilOutput(/[\r\n]before-reload\r\n/);
    await first.close();

    const second = new TestClient(server.url, cookie);
    await second.hello(LESSON);
    await second.untilOutput(/before-reload/); // replayed scrollback
    second.type('echo "mark=$OPSLAB_MARK"\r');
    await second.untilOutput(/mark=kept-42/);
    await second.close();
  });

  test('a second tab takes the terminal over; the first is told why', async () => {
    const cookie = await newAttendee(server.url);
    const first = new TestClient(server.url, cookie);
    await first.hello(LESSON);
    await first.ready();
    const second = new TestClient(server.url, cookie);
    await second.hello(LESSON);
    await first.until(() => first.closeCode !== undefined, 'the first tab to be closed');
    assert.equal(first.errors.at(-1)?.code, 'busy');
    second.type('echo second-tab\r');
    await second.untilOutput(/[\r\n]second-tab\r\n/);
    await second.close();
  });

  test('attendees are isolated: one cannot see the other\'s files or processes', async () => {
    const alice = new TestClient(server.url, await newAttendee(server.url));
    const bob = new TestClient(server.url, await newAttendee(server.url));
    await alice.hello(LESSON);
    await bob.hello(LESSON);
    await alice.ready();
    await bob.ready();
    alice.type('echo alice-secret > /tmp/secret; sleep 1234 &\r');
    await alice.untilOutput(/\[1\] \d+/);
    bob.type('ls /tmp; ps ax | grep -c "sleep 123[4]"; echo listed-$((1+1))\r');
    await bob.untilOutput(/listed-2\r\n/);
    assert.doesNotMatch(bob.output, /secret\r\n/);
    assert.match(bob.output, /[\r\n]0\r\nlisted-2/);
    await alice.close();
    await bob.close();
  });

  test('an exited shell says so, and reconnecting starts a new one in the same sandbox', async () => {
    const cookie = await newAttendee(server.url);
    const client = new TestClient(server.url, cookie);
    await client.hello(LESSON);
    await client.ready();
    client.type('echo kept > /root/survives; exit\r');
    await client.until(() => client.exited, 'the exit');
    await client.until(() => client.statuses.some((s) => s.state === 'exited'), 'the exited status');
    await client.close();
    const again = new TestClient(server.url, cookie);
    await again.hello(LESSON);
    await again.ready();
    again.type('cat /root/survives\r');
    await again.untilOutput(/[\r\n]kept\r\n/);
    await again.close();
  });
});

describe('restart', () => {
  test('after a server restart progress is still there and the sandbox is re-created with the passed steps replayed', async () => {
    const first = await startTestServer();
    const cookie = await newAttendee(first.url);
    const client = new TestClient(first.url, cookie);
    await client.hello(LESSON);
    await client.ready();
    client.type("echo 'Hello, Opslab!' > ~/hello.txt\r");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await client.check('create-file')).passed, true);
    await client.close();
    await first.stop(true);

    const second = await startTestServer({ port: 0, uidBase: first.config.uidBase }, first.dir);
    try {
      const progress = await (await fetch(`${second.url}/api/progress`, { headers: { cookie } })).json();
      assert.equal(progress.lessons[LESSON].done, 1);
      assert.equal(progress.lessons[LESSON].steps['create-file'].status, 'passed');
      const back = new TestClient(second.url, cookie);
      await back.hello(LESSON);
      await back.ready();
      assert.ok(back.statuses.some((s) => s.state === 'restoring'), 'the page is told the sandbox is being restored');
      const ready = back.statuses.find((s) => s.state === 'ready')!;
      assert.deepEqual(ready.restoredSteps, ['create-file']);
      assert.match(ready.message ?? '', /re-created/);
      back.type('cat ~/hello.txt\r');
      await back.untilOutput(/[\r\n]Hello, Opslab!\r\n/);
      await back.close();
    } finally {
      await second.stop();
    }
  });
});

/** A GET that leaves the body as sent (fetch would decode it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}
