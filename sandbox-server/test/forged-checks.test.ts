/**
 * Checks an attendee cannot forge from their own terminal. Root in the sandbox may mount over
 * anything in its own mount namespace; each trick below is typed into a real terminal over the
 * WebSocket, and the step it targets must stay not passed (and be recorded as not passed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';

const LESSON = 'getting-started';
// Each fails in a fresh sandbox (stop-server passes there: nothing runs yet).
const STEPS = ['create-file', 'start-server', 'read-header'];

/** Types `command` and waits for its end marker; returns what it printed. */
async function shell(client: TestClient, command: string): Promise<string> {
  const marker = `done-${Math.random().toString(36).slice(2)}`;
  const from = client.output.length;
  client.type(`${command}; echo "${marker.slice(0, 5)}""${marker.slice(5)} $?"\r`);
  await client.untilOutput(new RegExp(`${marker} \\d+`), 30_000);
  return client.output.slice(from);
}

describe('checks the attendee cannot forge', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  const attendee = async () => {
    const client = new TestClient(server.url, await newAttendee(server.url));
    await client.hello(LESSON);
    await client.ready();
    return client;
  };

  const expectNotPassed = async (client: TestClient, step: string) => {
    const result = await client.check(step);
    assert.equal(result.passed, false, `${step} passed: ${result.feedback}`);
    assert.notEqual(client.progress?.steps[step]?.status, 'passed');
  };

  test('a tmpfs over the lesson\'s steps with an `exit 0` check.sh', async () => {
    const client = await attendee();
    const out = await shell(client, 'mount -t tmpfs tmpfs /opt/opslab/lesson/steps && for s in ' + STEPS.join(' ') + '; do mkdir -p /opt/opslab/lesson/steps/$s && echo "exit 0" > /opt/opslab/lesson/steps/$s/check.sh; done && cat /opt/opslab/lesson/steps/create-file/check.sh');
    assert.match(out, /exit 0\r\n.*done-\w+ 0/s, 'the trick itself worked in the terminal');
    for (const step of STEPS) await expectNotPassed(client, step);
    await client.close();
  });

  test('a fake /usr/bin/timeout (it wraps every check) bound over the real one', async () => {
    const client = await attendee();
    const out = await shell(client, "printf '#!/bin/sh\\nexit 0\\n' > /tmp/fake && chmod +x /tmp/fake && mount --bind /tmp/fake /usr/bin/timeout && timeout 5 false; echo \"fake timeout says $?\"");
    assert.match(out, /fake timeout says 0/, 'the trick itself worked in the terminal');
    for (const step of STEPS) await expectNotPassed(client, step);
    await client.close();
  });

  test('fake grep and pgrep while the server still runs: the stop-server check still sees it', async () => {
    const client = await attendee();
    await shell(client, "cd ~ && echo 'Hello, Opslab!' > hello.txt && (python3 -m http.server 8000 >/dev/null 2>&1 &) && sleep 1");
    assert.equal((await client.check('start-server')).passed, true, 'the server runs');
    const out = await shell(client, "printf '#!/bin/sh\\nexit 1\\n' > /tmp/no && chmod +x /tmp/no && mount --bind /tmp/no /usr/bin/grep && mount --bind /tmp/no /usr/bin/pgrep && ss -Hltn | grep -q . ; echo \"fake grep says $?\"");
    assert.match(out, /fake grep says 1/, 'the trick itself worked in the terminal');
    await expectNotPassed(client, 'stop-server');
    await client.close();
  });

  test('what the attendee really does still counts: a file made in the terminal passes its check', async () => {
    const client = await attendee();
    await shell(client, "mount -t tmpfs tmpfs /usr/share/doc; echo 'Hello, Opslab!' > ~/hello.txt");
    const result = await client.check('create-file');
    assert.equal(result.passed, true, result.feedback);
    await client.close();
  });
});
