/**
 * The room's OpenStack cloud through the real server: an attendee opening the nova-shelving lesson
 * gets a project of their own, an openrc and a booted test1, and the real CLIs work in the sandbox
 * through its doors — and nothing else of the host's network does. Two attendees cannot see or
 * touch each other's servers. A nova-compute that dies is restarted and test1 made runnable again.
 * The same code pointed at the local control plane as an "existing cloud" (config file) works too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../../sandbox-server/src/config.ts';
import { newAttendee, startTestServer, TestClient, type TestServer } from '../../../sandbox-server/test/helpers.ts';
import { OpenStackSession } from '../api.ts';
import { loadExternalCloud, OpenStackCloud } from '../cloud.ts';
import { readOpenStackFixture } from '../fixture.ts';

const run = promisify(execFile);
const LESSON = 'nova-shelving';
// The lesson's own fixture (m1.tiny, cirros, a test1 with no network), as the server reads it.
const fixture = readOpenStackFixture(join(projectRoot, 'lessons', LESSON, 'services/openstack.json'));
/** The plug-in's cloud in a running server (services/openstack/service.ts). */
const cloudOf = async (server: TestServer) => ((await server.services.get('openstack')) as unknown as { cloud: OpenStackCloud }).cloud;
const controlPlane = join(projectRoot, 'services/openstack/control-plane.sh');
const state = process.env.OPSLAB_OPENSTACK_DIR ?? '/var/lib/opslab/openstack';
const attendeeOf = (cookie: string) => cookie.split('=')[1]!.split('.')[0]!;

/** Types a command and waits for its marker: the output between is the command's. */
async function shell(client: TestClient, command: string, timeoutMs = 60_000): Promise<string> {
  const marker = `done-${Math.random().toString(36).slice(2)}`;
  const start = client.output.length;
  client.type(`${command}; echo ${marker.slice(0, 5)}""${marker.slice(5)}\r`);
  await client.until(() => client.output.includes(marker, start), `"${command}"`, timeoutMs);
  // Without the shell's terminal controls (bracketed paste on and off) and carriage returns.
  return client.output.slice(start, client.output.indexOf(marker, start)).replace(/\x1b\[[?0-9;]*[a-zA-Z]|\r/g, '');
}

async function openLesson(server: TestServer, cookie: string): Promise<TestClient> {
  const client = new TestClient(server.url, cookie);
  await client.hello(LESSON);
  await client.until(() => client.statuses.some((s) => s.state === 'ready' || s.state === 'error'), 'the sandbox', 180_000);
  await client.ready();
  return client;
}

/** Kills a control-plane service's process group and waits until it is dead (gone, or a zombie not reaped yet: the control plane counts both as stopped). */
async function killService(name: string): Promise<{ pidFile: string; pid: number }> {
  const pidFile = join(state, 'run', `${name}.service.pid`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  process.kill(-pid, 'SIGKILL');
  const dead = () => {
    try {
      return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return true; // gone
    }
  };
  for (let i = 0; i < 400 && !dead(); i++) await new Promise((r) => setTimeout(r, 5));
  return { pidFile, pid };
}

describe('the OpenStack cloud for attendees', { timeout: 900_000 }, () => {
  let server: TestServer;
  const cookies: string[] = [];
  const clients: TestClient[] = [];

  let startedHere = false; // as in services/openstack/test/control-plane.test.ts

  before(async () => {
    startedHere = !process.env.OPSLAB_OPENSTACK_SHARED && (await run('bash', [controlPlane, 'status'])).stdout.includes('stopped');
    await run('bash', [controlPlane, 'start'], { timeout: 600_000 });
    server = await startTestServer({ serviceOptions: { openstack: { stateDir: state, watchSeconds: 2, warmAtStart: false } } });
    for (let i = 0; i < 2; i++) cookies.push(await newAttendee(server.url));
  });

  after(async () => {
    for (const client of clients) await client.close();
    for (const cookie of cookies) await (await cloudOf(server)).deprovision(attendeeOf(cookie));
    await server.stop();
    if (startedHere) await run('bash', [controlPlane, 'stop'], { timeout: 120_000 });
  });

  test('an attendee gets a project, an openrc and test1 ACTIVE / Running; the progress is shown while it is made', async () => {
    const client = await openLesson(server, cookies[0]!);
    clients.push(client);
    assert.ok(client.statuses.some((s) => s.message?.includes('OpenStack project')), JSON.stringify(client.statuses));
    const list = await shell(client, 'source openrc && nova list');
    assert.match(list, /\| test1 \| ACTIVE \| -\s+\| Running\s+\|\s+\|/);
    const whoami = await shell(client, 'openstack token issue -f value -c project_id && openstack role assignment list --user $OS_USERNAME --names -f value -c Role 2>&1');
    assert.doesNotMatch(whoami, /\badmin\b/, 'the attendee is a member, never an admin');
  });

  test('two attendees: neither sees nor touches the other\'s test1', async () => {
    const alice = clients[0]!;
    const bob = await openLesson(server, cookies[1]!);
    clients.push(bob);
    const bobsId = (await shell(bob, "source openrc && nova show test1 | awk '$2 == \"id\" { print $4 }'")).trim().split('\n').pop()!.trim();
    assert.match(bobsId, /^[0-9a-f-]{36}$/);
    const alicesList = await shell(alice, 'nova list');
    assert.ok(!alicesList.includes(bobsId), 'bob\'s server is not in alice\'s list');
    assert.match(await shell(alice, `nova show ${bobsId} 2>&1`), /No server with a name or ID/);
    assert.match(await shell(alice, `nova delete ${bobsId} 2>&1`), /No server with a name or ID|not found/i);
    assert.match(await shell(alice, `nova shelve ${bobsId} 2>&1`), /No server with a name or ID/);
    assert.match(await shell(bob, `nova show ${bobsId} | grep -E ' status '`), /ACTIVE/);
  });

  test('a returning attendee (a re-created sandbox, a restarted server): the same password, the same test1', async () => {
    const cloud = await cloudOf(server);
    const attendee = attendeeOf(await newAttendee(server.url));
    cookies.push(`x=${attendee}`); // removed in after()
    const first = await cloud.provision(attendee, fixture);
    const again = await cloud.provision(attendee, fixture);
    assert.ok(first.servers.test1, 'the fixture\'s test1 was booted');
    assert.equal(again.servers.test1, first.servers.test1);
    assert.equal(again.openrc, first.openrc, 'no password change: it would revoke the tokens in use');
    const password = /OS_PASSWORD=(\S+)/.exec(again.openrc)![1]!;
    const login = () =>
      OpenStackSession.login({ authUrl: 'http://127.0.0.1:5000/v3', username: again.username, password, projectName: again.projectName, userDomainName: 'Default', projectDomainName: 'Default', region: 'RegionOne' });
    const token = await login();
    // A server restarted with another key (its key file lost): the next provisioning sets the new key's password.
    const restarted = new OpenStackCloud({ stateDir: state, watchSeconds: 3600, key: randomBytes(32) });
    const third = await restarted.provision(attendee, fixture);
    assert.notEqual(third.openrc, first.openrc);
    assert.equal(third.servers.test1, first.servers.test1);
    await assert.rejects(login(), /HTTP 401/);
    await token.call('compute', 'GET', '/servers').then(
      () => assert.fail('a token from before the password change still works'),
      (error: Error) => assert.match(error.message, /HTTP 401/),
    );
  });

  test('/api/health says the cloud is up, as the openstack service sees it', async () => {
    const health = (await (await fetch(`${server.url}/api/health`)).json()) as { services: Record<string, { ok: boolean; detail: string }> };
    assert.deepEqual(health.services.openstack, { ok: true, detail: 'the local control plane\'s services run' });
  });

  test('the sandbox reaches the cloud\'s APIs and nothing else of the host', async () => {
    const alice = clients[0]!;
    const reach = async (port: number) => (await shell(alice, `timeout 3 bash -c '</dev/tcp/127.0.0.1/${port}' 2>/dev/null && echo open || echo closed`)).trim().split('\n').pop();
    for (const port of [5000, 8774, 9292, 8778]) assert.equal(await reach(port), 'open', `API port ${port}`);
    // RabbitMQ, the Erlang distribution port, and the platform's own server listen on the host's loopback too.
    for (const port of [5679, 25679, 4369, server.port]) assert.equal(await reach(port), 'closed', `host port ${port}`);
    assert.match(await shell(alice, 'ip -o addr show | grep -v " lo " | wc -l'), /^\s*0\s*$/m, 'no interface but lo');
  });

  test('a nova-compute that dies is started again, and test1 still shelves (the fake driver had forgotten it)', async () => {
    const alice = clients[0]!;
    const pidFile = join(state, 'run', 'nova-compute.service.pid');
    const reboots = async () => ((await shell(alice, 'nova instance-action-list test1')).match(/\| reboot /g) ?? []).length;
    // Settled first: a repair already under way (the watch found a dead service) is not ours.
    await (await cloudOf(server)).settled();
    const before = await reboots();
    const pid = readFileSync(pidFile, 'utf8').trim();
    process.kill(-Number(pid), 'SIGKILL');
    // The watch (every 2 s here) starts it again, then hard-reboots every ACTIVE server.
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline && (readFileSync(pidFile, 'utf8').trim() === pid || (await reboots()) <= before)) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    await (await cloudOf(server)).settled();
    assert.notEqual(readFileSync(pidFile, 'utf8').trim(), pid, 'a new nova-compute runs');
    assert.ok((await reboots()) > before, 'test1 was hard-rebooted after the restart');
    // What the attendee would meet without the repair: a shelve nova-compute fails without a word.
    await shell(alice, 'nova shelve test1');
    const wait = 'for i in $(seq 40); do s=$(openstack server show test1 -f value -c status); [ "$s" = $STATUS ] && break; sleep 1; done; echo "status=$s"';
    assert.match(await shell(alice, wait.replace('$STATUS', 'SHELVED_OFFLOADED'), 150_000), /status=SHELVED_OFFLOADED/);
    await shell(alice, 'nova unshelve test1');
    assert.match(await shell(alice, wait.replace('$STATUS', 'ACTIVE'), 150_000), /status=ACTIVE/);
  });

  test('an attendee arriving while a service is down hears the restart as stages and gets a working cloud', async () => {
    const cloud = await cloudOf(server);
    await cloud.settled();
    // At once after glance dies the attendee arrives: the watch (every 2 s here) must not have repaired it first.
    const { pidFile, pid } = await killService('glance');
    const stages: string[] = [];
    const access = await cloud.provision(attendeeOf(cookies[0]!), fixture, (message) => stages.push(message));
    assert.ok(stages.some((m) => /^Restarting the room's OpenStack cloud \(.*glance/.test(m)), JSON.stringify(stages));
    assert.ok(stages.some((m) => /^Starting the room's OpenStack cloud: starting glance \(\d+ of \d+\)/.test(m)), JSON.stringify(stages));
    assert.notEqual(Number(readFileSync(pidFile, 'utf8').trim()), pid, 'a new glance runs');
    assert.ok(access.servers.test1);
  });

  test('a server whose first look finds a service dead starts it, and leaves the room\'s cloud running when it stops', async () => {
    const other = await startTestServer({ serviceOptions: { openstack: { stateDir: state, watchSeconds: 60, warmAtStart: false } } });
    try {
      await killService('glance');
      const stages: string[] = [];
      await (await cloudOf(other)).ready((message) => stages.push(message));
      // Said only when its first look found a service dead. (Which start launches glance again, its
      // own or the other server's watch, is a race: either way the cloud was running, not down.)
      assert.ok(stages.some((m) => m.startsWith('Starting the room\'s OpenStack cloud (')), JSON.stringify(stages));
    } finally {
      await other.stop();
    }
    // It restarted a service of a cloud it did not start: stopping that cloud is not its to do.
    assert.doesNotMatch((await run('bash', [controlPlane, 'status'])).stdout, / stopped$/m);
  });

  test('an existing cloud from a config file: the same provisioning, pointed at this control plane', async () => {
    const file = join(server.dir, 'cloud.json');
    writeFileSync(file, JSON.stringify({ authUrl: 'http://127.0.0.1:5000/v3', username: 'admin', password: readFileSync(join(state, 'secrets', 'admin'), 'utf8').trim() }));
    const external = await startTestServer({ serviceOptions: { openstack: { stateDir: '/nonexistent', externalConfigPath: file, watchSeconds: 60, warmAtStart: false } } });
    const cookie = await newAttendee(external.url);
    try {
      const client = await openLesson(external, cookie);
      assert.match(await shell(client, 'source openrc && nova list'), /\| test1 \| ACTIVE \|/);
      await client.close();
    } finally {
      await (await cloudOf(external)).deprovision(attendeeOf(cookie));
      await external.stop();
    }
    // And a broken one says which field is wrong.
    writeFileSync(file, JSON.stringify({ authUrl: 'not a url', username: 'admin', password: 'x' }));
    assert.throws(() => loadExternalCloud(file), /cloud\.json: field "authUrl"/);
    writeFileSync(file, JSON.stringify({ authUrl: 'http://127.0.0.1:5000/v3', username: 'admin' }));
    assert.throws(() => loadExternalCloud(file), /field "password"/);
    // The flavor and image an older config named are the lesson's now: the error says where they went.
    writeFileSync(file, JSON.stringify({ authUrl: 'http://127.0.0.1:5000/v3', username: 'admin', password: 'x', flavor: 'm1.tiny' }));
    assert.throws(() => loadExternalCloud(file), /Unrecognized key.*flavor.*services\/openstack\.json/);
  });
});
