/**
 * The web server steps of getting-started, in a real terminal: a bash on a pty in a fresh sandbox,
 * driven over the WebSocket as a browser does, with the server's job in the foreground, stopped,
 * in the background, and logging to the terminal. The checks run as the server runs them (in the
 * checker's view) and must leave the terminal as they found it: no request to a stopped server
 * (it would answer after `bg`, to a client long gone: a BrokenPipe traceback), no request to a
 * server that logs to the terminal (a line over the prompt).
 *
 * Waits are for what the terminal prints (the server's start, a job's state, a command's end
 * marker); their timeouts are safety nets only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newAttendee, startTestServer, TestClient, type TestServer } from '../../../sandbox-server/test/helpers.ts';

const LESSON = 'getting-started';
const PATIENCE_MS = 120_000;

class Terminal {
  constructor(readonly client: TestClient) {}

  /** Types `command` and waits for its end; returns what the terminal printed meanwhile. */
  async shell(command: string): Promise<string> {
    return (await this.client.run(command, PATIENCE_MS)).output;
  }

  /** Types `text` and waits until the terminal prints `pattern` after it. */
  async typeUntil(text: string, pattern: RegExp): Promise<void> {
    const from = this.client.output.length;
    this.client.type(text);
    await this.printed(pattern, from);
  }

  printed(pattern: RegExp, from: number): Promise<void> {
    return this.client.until(() => pattern.test(this.client.output.slice(from)), `output matching ${pattern}`, PATIENCE_MS);
  }

  /** The server in the foreground, as the lesson starts it; it prints its address when it listens. */
  startInForeground(): Promise<void> {
    return this.typeUntil('cd ~ && python3 -m http.server 8000 2>~/http.log\r', /Serving HTTP on/);
  }

  suspend(): Promise<void> {
    return this.typeUntil('\x1a', /Stopped/);
  }

  /** The accept queue of the socket listening on :8000: connections made that the server has not taken yet. */
  async queued(): Promise<string | undefined> {
    return /queued:(\d+)/.exec(await this.shell("ss -Hltn 'sport = :8000' | awk '{ print \"queued:\" $2 }'"))?.[1];
  }

  async logLines(pattern: string): Promise<number> {
    return Number(/lines:(\d+)/.exec(await this.shell(`echo "lines:$(grep -c '${pattern}' ~/http.log)"`))?.[1]);
  }

  /** What the terminal prints from `from` up to the end of a command typed now (nothing is left in flight). */
  async printedSince(from: number): Promise<string> {
    const upTo = this.client.output.length;
    return this.client.output.slice(from, upTo) + (await this.shell('true'));
  }
}

/** An attendee of their own for each test: a fresh sandbox with its terminal, and step 1 done. */
async function attendee(server: TestServer): Promise<Terminal> {
  const client = new TestClient(server.url, await newAttendee(server.url));
  await client.hello(LESSON);
  await client.ready();
  const terminal = new Terminal(client);
  await terminal.shell("echo 'Hello, Opslab!' > ~/hello.txt");
  return terminal;
}

describe('the getting-started web server in a real terminal', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  test('in the foreground: the check says Ctrl+Z then bg, and sends it no request', async () => {
    const terminal = await attendee(server);
    await terminal.startInForeground();
    const result = await terminal.client.check('start-server');
    assert.equal(result.passed, false, result.feedback);
    assert.match(result.feedback, /runs in the foreground[\s\S]*Ctrl\+Z[\s\S]*bg/);
    // As the feedback says: Ctrl+Z gives the prompt back, to read the log. A request sent while the
    // server ran would be in it (the server logs a request before it answers it).
    await terminal.suspend();
    assert.equal(await terminal.logLines('GET'), 0);
    await terminal.client.close();
  });

  test('stopped: both checks say run bg, and none of them connects to it', async () => {
    const terminal = await attendee(server);
    await terminal.startInForeground();
    await terminal.suspend();
    for (const [step, answer] of [['start-server', undefined], ['read-header', 'SimpleHTTP']] as const) {
      const result = await terminal.client.check(step, answer);
      assert.equal(result.passed, false, result.feedback);
      assert.match(result.feedback, /is stopped[\s\S]*run bg/, step);
    }
    // A stopped server takes no connection from its queue: one made by a check would wait there,
    // to be answered after bg, to a client long gone.
    assert.equal(await terminal.queued(), '0');
    await terminal.client.close();
  });

  test('Ctrl+Z, then bg: the check passes; its request is in ~/http.log, nothing in the terminal', async () => {
    const terminal = await attendee(server);
    await terminal.startInForeground();
    await terminal.suspend();
    assert.match(await terminal.shell('bg'), /python3 -m http.server 8000/);
    const requests = await terminal.logLines('"GET /hello.txt');
    const from = terminal.client.output.length;
    const result = await terminal.client.check('start-server');
    assert.equal(result.passed, true, result.feedback);
    assert.match(result.feedback, /serves your hello.txt/);
    assert.doesNotMatch(await terminal.printedSince(from), /GET \/hello\.txt/);
    assert.equal(await terminal.logLines('"GET /hello.txt'), requests + 1);
    await terminal.client.close();
  });

  test('in the background, logging to the terminal: the check asks for the log in a file and sends no request', async () => {
    const terminal = await attendee(server);
    await terminal.typeUntil('cd ~ && python3 -m http.server 8000 &\r', /Serving HTTP on/);
    const from = terminal.client.output.length;
    const result = await terminal.client.check('start-server');
    assert.equal(result.passed, false, result.feedback);
    assert.match(result.feedback, /log to your terminal[\s\S]*2>~\/http.log &/);
    assert.doesNotMatch(await terminal.printedSince(from), /GET \//);
    await terminal.client.close();
  });

  test('Solve it for me while the attendee\'s server is stopped: solve.sh ends it and serves in its place', async () => {
    const terminal = await attendee(server);
    await terminal.startInForeground();
    await terminal.suspend();
    const solved = await terminal.client.solve('start-server');
    assert.equal(solved.passed, true, solved.feedback);
    assert.match(await terminal.shell('jobs; echo "listeners:$(ss -Hltn \'sport = :8000\' | wc -l)"'), /listeners:1/);
    await terminal.client.close();
  });

  test('solve.sh: its server has no terminal and passes; read-header tells an empty answer from a wrong one', async () => {
    const terminal = await attendee(server);
    const solved = await terminal.client.solve('start-server');
    assert.equal(solved.passed, true, solved.feedback);
    assert.match(await terminal.shell("ps -o tty= -p $(ss -Hltnp 'sport = :8000' | grep -o 'pid=[0-9]*' | cut -d= -f2)"), /^\?/m);
    const empty = await terminal.client.check('read-header', '');
    assert.match(empty.feedback, /into the answer field/);
    const wrong = await terminal.client.check('read-header', 'nginx');
    assert.match(wrong.feedback, /"nginx" is not what the server sends/);
    const header = /Server: (\S+ \S+)/.exec(await terminal.shell('curl -sI localhost:8000/hello.txt | grep Server:'))![1]!;
    const right = await terminal.client.check('read-header', header);
    assert.equal(right.passed, true, right.feedback);
    await terminal.client.close();
  });
});
