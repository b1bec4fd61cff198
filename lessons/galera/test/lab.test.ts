/**
 * The Galera lab's `vagrant`, for real: three mariadbd with Galera in one `cluster` sandbox, each
 * in its own network, mount and UTS namespaces. Bootstrap, joins by SST, synchronous replication,
 * a node lost and healed by IST, `vagrant ssh` and `sudo su -`, and destroy.
 */
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadCatalog } from '../../../lesson-model/catalog.ts';
import { runCheck } from '../../../sandbox-server/src/checker.ts';
import { defaultProfiles } from '../../../sandbox-server/src/config.ts';
import { startLessonSandbox } from '../../../sandbox-server/src/lesson-sandbox.ts';
import type { Sandbox } from '../../../sandbox-server/src/sandbox/backend.ts';
import { startTestServer, type TestServer } from '../../../sandbox-server/test/helpers.ts';

/** Safety nets against a hang only, far beyond what a step takes on a slow, busy machine. */
const PATIENCE_MS = 10 * 60_000;
const UP_PATIENCE_MS = 30 * 60_000;

describe('the Galera lab (vagrant)', () => {
  let server: TestServer;
  let sandbox: Sandbox;
  const sh = async (script: string, timeoutMs = PATIENCE_MS) => {
    const result = await sandbox.exec(['bash', '-c', `export PATH=/opt/opslab/lesson/bin:$PATH\n${script}`], { timeoutMs });
    return { ...result, output: result.output.trim() };
  };
  const ok = async (script: string, timeoutMs?: number) => {
    const result = await sh(script, timeoutMs);
    assert.equal(result.code, 0, `${script}\n${result.output}`);
    return result.output;
  };
  const query = (node: string, variable: string) => `vagrant ssh ${node} -c "mariadb -uroot -N -B -e \\"SHOW STATUS LIKE 'wsrep_${variable}'\\"" | cut -f2`;
  const status = (node: string, variable: string) => ok(query(node, variable));
  /**
   * Waits until the shell test `condition` holds: a cluster's view changes when Galera's own timers
   * and the machine's speed say, so the wait is bounded by a safety net only, in wall-clock time.
   */
  const until = (condition: string) =>
    ok(`end=$((SECONDS + ${PATIENCE_MS / 1000})); until ${condition}; do [ $SECONDS -lt $end ] || exit 1; sleep 0.25; done`, PATIENCE_MS + 60_000);
  const is = (node: string, variable: string, value: string) => `[ "$(${query(node, variable)})" = ${value} ]`;

  before(async () => {
    server = await startTestServer();
    // The server's staged copy of the lesson (root-owned, world-readable), as its sessions use:
    // the checkout itself may not be readable by a sandbox's uid (a clone in a 0700 mktemp dir).
    const staged = server.sessions.lesson(basename(join(import.meta.dirname, '..')))!;
    ({ sandbox } = await startLessonSandbox({ lesson: staged.lesson, stagedDir: staged.stagedDir, backend: server.backend, profile: defaultProfiles.cluster, id: 'galera-lab' }));
  });
  after(async () => {
    await server.stop();
  });

  test('the cluster profile gives /var room for three nodes\' data', async () => {
    assert.equal(await ok("df -m --output=size /var | tail -1 | tr -d ' '"), '768');
  });

  test('vagrant up: node 1 bootstraps, nodes 2 and 3 join by SST, all Synced', async () => {
    const out = await ok('vagrant up', UP_PATIENCE_MS);
    assert.match(out, /mariadb-01: Bootstrapping a new cluster/);
    assert.match(out, /mariadb-03: Machine booted and ready! \(wsrep: Synced, cluster size 3\)/);
    assert.match(await ok('vagrant status'), /mariadb-01 +running[\s\S]*mariadb-02 +running[\s\S]*mariadb-03 +running/);
  });

  test('validate: an empty answer, one that is no UUID, a node\'s own UUID and another UUID each get their advice, none the value; the right one passes', async () => {
    // The step as the server runs its check: its timeout, in the checker's view.
    const step = loadCatalog(server.config.lessonsDir).find((l) => l.slug === 'galera')!.steps.find((s) => s.id === 'validate')!;
    const check = (answer: string) => runCheck(sandbox, step, answer);
    const uuid = await status('mariadb-02', 'cluster_state_uuid');
    const gcomm = await status('mariadb-03', 'gcomm_uuid');
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.notEqual(gcomm, uuid);
    const cases: Array<[string, RegExp]> = [
      ['  ', /^Type the value of wsrep_cluster_state_uuid into the answer field/],
      ['Primary', /^"Primary" is not what the cluster reports: wsrep_cluster_state_uuid is a UUID/],
      [gcomm, /is mariadb-03's wsrep_gcomm_uuid/],
      ['00000000-1111-2222-3333-444444444444', /^00000000-1111-2222-3333-444444444444 is not the wsrep_cluster_state_uuid the cluster reports now\. In the mariadb-02 tab/],
    ];
    for (const [answer, advice] of cases) {
      const result = await check(answer);
      assert.equal(result.passed, false, `${JSON.stringify(answer)}: ${result.feedback}`);
      assert.match(result.feedback, advice);
      assert.ok(!result.feedback.includes(uuid), `the feedback for ${JSON.stringify(answer)} gives the answer away: ${result.feedback}`);
    }
    // As copied from the client's table, in capitals: the value is what counts.
    const right = await check(`| wsrep_cluster_state_uuid | ${uuid.toUpperCase()} |`);
    assert.equal(right.passed, true, right.feedback);
  });

  test('each node is its own machine: hostname, address, and the cluster seen from it', async () => {
    for (const [node, address] of [['mariadb-01', '192.168.56.11'], ['mariadb-02', '192.168.56.12'], ['mariadb-03', '192.168.56.13']]) {
      assert.equal(await ok(`vagrant ssh ${node} -c hostname`), node);
      assert.match(await ok(`vagrant ssh ${node} -c "ip -4 -o addr show eth0"`), new RegExp(address!.replace(/\./g, '\\.')));
      assert.equal(await status(node!, 'cluster_size'), '3');
      assert.equal(await status(node!, 'cluster_status'), 'Primary');
      assert.equal(await status(node!, 'ready'), 'ON');
    }
    const uuids = await Promise.all(['mariadb-01', 'mariadb-02', 'mariadb-03'].map((n) => status(n, 'cluster_state_uuid')));
    assert.match(uuids[0]!, /^[0-9a-f-]{36}$/);
    assert.deepEqual(new Set(uuids).size, 1);
  });

  test('replication is synchronous: a row written on node 1 is read on node 3', async () => {
    await ok(`vagrant ssh mariadb-01 -c "mariadb -uroot -e 'CREATE DATABASE lab; CREATE TABLE lab.t (id INT PRIMARY KEY, v TEXT); INSERT INTO lab.t VALUES (1, \\"one\\")'"`);
    assert.equal(await ok(`vagrant ssh mariadb-03 -c "mariadb -uroot -N -B -e 'SELECT v FROM lab.t WHERE id = 1'"`), 'one');
  });

  test('halt a node: the cluster shrinks to 2 and stays Primary; the node heals by IST with the rows it missed', async () => {
    assert.match(await ok('vagrant halt mariadb-02'), /mariadb-02 +poweroff/);
    // The others install the view without it as soon as they have processed its leaving.
    await until(is('mariadb-01', 'cluster_size', '2'));
    // Without a terminal (a script), ssh to a node that is down fails at once, as Vagrant's does.
    const down = await sh('vagrant ssh mariadb-02 < /dev/null');
    assert.notEqual(down.code, 0);
    assert.match(down.output, /VM must be running to open an SSH connection/);
    assert.equal(await status('mariadb-01', 'cluster_status'), 'Primary');
    await ok(`vagrant ssh mariadb-01 -c "mariadb -uroot -e 'INSERT INTO lab.t VALUES (2, \\"while away\\")'"`);
    assert.match(await ok('vagrant up mariadb-02'), /mariadb-02: Joining the cluster \(2 node\(s\) running\)[\s\S]*cluster size 3/);
    assert.match(await ok('vagrant ssh mariadb-02 -c "grep IST /var/log/mysql/error.log"'), /IST received/);
    assert.equal(await ok(`vagrant ssh mariadb-02 -c "mariadb -uroot -N -B -e 'SELECT v FROM lab.t WHERE id = 2'"`), 'while away');
  });

  test('cut off from the others, a node goes non-Primary and refuses reads and writes; back, it resyncs', async () => {
    await ok('vagrant ssh mariadb-03 -c "ip link set eth0 down"');
    await until(is('mariadb-03', 'cluster_status', 'non-Primary'));
    // (The server learns of the view from the provider a moment after the provider's status says it.)
    await until(is('mariadb-03', 'ready', 'OFF'));
    const refused = await sh(`vagrant ssh mariadb-03 -c "mariadb -uroot -e 'SELECT * FROM lab.t'"`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /WSREP has not yet prepared node for application use/);
    await until(is('mariadb-01', 'cluster_size', '2'));
    assert.equal(await status('mariadb-01', 'cluster_status'), 'Primary');
    await ok(`vagrant ssh mariadb-01 -c "mariadb -uroot -e 'INSERT INTO lab.t VALUES (3, \\"majority\\")'"`);
    await ok('vagrant ssh mariadb-03 -c "ip link set eth0 up"');
    await until(`[ "$(vagrant ssh mariadb-03 -c "mariadb -uroot -N -B -e \\"SELECT v FROM lab.t WHERE id = 3\\"" 2>/dev/null)" = majority ]`);
    assert.equal(await status('mariadb-03', 'cluster_size'), '3');
  });

  test('vagrant ssh opens a shell on the node; sudo su - makes a root login shell there', async () => {
    const shell = await ok("printf 'hostname\\nsudo su - -c \"whoami; hostname; pwd\"\\nexit\\n' | vagrant ssh mariadb-02");
    assert.match(shell, /vagrant@mariadb-02:~\$ hostname\nmariadb-02\n/);
    assert.match(shell, /\nroot\nmariadb-02\n\/root\n/);
    const wrong = await sh('vagrant ssh mariadb-07');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.output, /mariadb-07' was not found/);
  });

  test('destroy -f removes the nodes, their networks and their processes', async () => {
    await ok('vagrant destroy -f');
    assert.match(await ok('vagrant status'), /mariadb-01 +not created[\s\S]*mariadb-03 +not created/);
    assert.equal(await ok('ip netns list | wc -l; pgrep -c mariadbd || true'), '0\n0');
  });
});
