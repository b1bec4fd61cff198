/**
 * The PXE lab for real, in `network` sandboxes: the private /etc, the upstream router that only
 * NAT reaches, the lab's `service dnsmasq`, the machine's turn queue between two sandboxes (and
 * what a sandbox cannot do to it), and a diskless QEMU PC booting to the menu while another waits.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultProfiles } from '../../../sandbox-server/src/config.ts';
import type { Sandbox } from '../../../sandbox-server/src/sandbox/backend.ts';
import { startTestServer, type TestServer } from '../../../sandbox-server/test/helpers.ts';

const LESSON = '/opt/opslab/lesson';

describe('the PXE lab', () => {
  let server: TestServer;
  let pi: Sandbox;
  let other: Sandbox;
  const sh = async (sandbox: Sandbox, script: string, timeoutMs = 120_000) => {
    const result = await sandbox.exec(['bash', '-c', `export PATH=${LESSON}/bin:/opt/opslab/bin:$PATH\n${script}`], { timeoutMs });
    return { ...result, output: result.output.trim() };
  };
  const ok = async (sandbox: Sandbox, script: string, timeoutMs?: number) => {
    const result = await sh(sandbox, script, timeoutMs);
    assert.equal(result.code, 0, `${script}\n${result.output}`);
    return result.output;
  };

  before(async () => {
    // Turns of 12 s: long enough for a boot to the menu (~6 s here, twice that on a busy machine), short enough to see one taken back.
    server = await startTestServer({ machineTurns: { slots: 1, seconds: 12 } });
    const lessonDir = join(server.config.stagingDir, 'lessons', 'pxe');
    [pi, other] = await Promise.all(['pxe-lab-a', 'pxe-lab-b'].map((id) => server.backend.create({ id, lessonDir, ...defaultProfiles.network })));
    for (const sandbox of [pi, other]) await ok(sandbox, `bash ${LESSON}/setup.sh`);
  });
  after(async () => {
    await server.stop();
  });

  test('/etc is the sandbox\'s own: writable, and a change stays in its sandbox', async () => {
    await ok(pi, 'echo "net.ipv4.ip_forward=1" >> /etc/sysctl.conf && echo "interface=eth0" > /etc/dnsmasq.conf');
    assert.equal(await ok(other, 'cat /etc/dnsmasq.conf 2>/dev/null; grep ip_forward /etc/sysctl.conf'), '#net.ipv4.ip_forward=1');
    assert.equal(statSync('/etc/dnsmasq.conf', { throwIfNoEntry: false }), undefined);
    assert.match(await ok(pi, 'getent passwd root; hostname'), /^root:x:0:0:[\s\S]*\npxe-server$/);
    // Secrets the sandbox's uid cannot read on the host are not in its copy either.
    assert.equal(await ok(pi, 'ls /etc/shadow 2>&1 || true'), "ls: cannot access '/etc/shadow': No such file or directory");
  });

  test('the home router answers on wlan0 but has no route back to the LAN: only NAT reaches it', async () => {
    await ok(pi, `bash ${LESSON}/steps/network/solve.sh && ping -c 1 -W 2 192.168.1.1`);
    assert.equal(await ok(pi, 'nsenter --net=/run/netns/upstream ip -4 route'), '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.1');
    const without = await sh(pi, `bash ${LESSON}/steps/nat/check.sh`);
    assert.notEqual(without.code, 0);
    await ok(pi, `bash ${LESSON}/steps/nat/solve.sh`);
    assert.match(await ok(pi, `bash ${LESSON}/steps/nat/check.sh`), /MASQUERADE counted [1-9]/);
  });

  test('service dnsmasq: a broken config is refused with its line; start, status, stop', async () => {
    await ok(pi, 'echo "dhcp-range=nonsense" > /etc/dnsmasq.conf');
    const broken = await sh(pi, 'service dnsmasq start');
    assert.notEqual(broken.code, 0);
    assert.match(broken.output, /bad dhcp-range at line 1 of \/etc\/dnsmasq.conf/);
    await ok(pi, `bash ${LESSON}/steps/dhcp/solve.sh`);
    assert.match(await ok(pi, 'service dnsmasq status'), /dnsmasq is running \(pid \d+\)/);
    assert.match(await ok(pi, 'service dnsmasq restart; service dnsmasq status'), /is running/);
    assert.match(await ok(pi, 'grep -c "DHCP, IP range 10.0.0.50 -- 10.0.0.150" /var/log/dnsmasq.log'), /^[2-9]$/);
    assert.equal((await sh(pi, 'service dnsmasq stop; service dnsmasq status')).code, 3);
    await ok(pi, 'service dnsmasq start');
  });

  test('the turn socket: one per sandbox, owned by its uid, and one place in the queue per sandbox', async () => {
    const socket = join(server.config.stagingDir, 'turns', `${pi.uid}.sock`);
    const stat = statSync(socket);
    assert.equal(stat.uid, pi.uid);
    assert.equal(stat.mode & 0o777, 0o600);
    // A second request from the same sandbox while the first waits or runs is refused: opening many
    // connections cannot crowd the other sandboxes out of the queue.
    const twice = await ok(pi, 'machine-turn sleep 2 & sleep 0.5; machine-turn true; echo "status $?"; wait');
    assert.match(twice, /this sandbox already has a turn or waits for one[\s\S]*status 1/);
    // Profiles without machineTurns have no door to the queue.
    const small = await server.backend.create({ id: 'pxe-lab-small', lessonDir: join(server.config.stagingDir, 'lessons', 'pxe'), ...defaultProfiles.small });
    try {
      const none = await sh(small, 'machine-turn true');
      assert.equal(none.code, 1);
      assert.match(none.output, /this sandbox has no turn queue/);
    } finally {
      await small.destroy();
    }
  });

  test('turns are taken one at a time across sandboxes; the waiting one sees its place; a turn held too long is taken back', async () => {
    const holder = sh(pi, 'machine-turn sleep 30; echo "status $?"', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const waiter = await ok(other, 'start=$(date +%s%N); machine-turn true; echo "status $? after $(( ($(date +%s%N) - start) / 1000000 )) ms"');
    assert.match(waiter, /waiting for a turn on this machine: 1 ahead of you/);
    const waited = Number(/after (\d+) ms/.exec(waiter)![1]);
    assert.ok(waited >= 10000, `the second sandbox ran after ${waited} ms, while the first held its turn`);
    const held = await holder;
    assert.match(held.output, /your turn of 12 s is over[\s\S]*status 75/);
    assert.equal(await ok(pi, 'pgrep -c -f "^sleep 30" || true'), '0');
  });

  test('a diskless PC boots from the attendee\'s server to the menu; a second boot waits for its turn', async () => {
    await ok(pi, `bash ${LESSON}/steps/menu/solve.sh`);
    // The other sandbox needs a server of its own for its PC: the same lab, solved.
    await ok(other, `for s in network nat dhcp menu; do bash ${LESSON}/steps/$s/solve.sh >/dev/null; done`);
    const [first, second] = await Promise.all([
      sh(pi, 'pxe-client --until "Opslab PXE Boot Menu"', 60_000),
      new Promise((resolve) => setTimeout(resolve, 300)).then(() => sh(other, 'pxe-client --until "Opslab PXE Boot Menu"', 60_000)),
    ]);
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, /"Opslab PXE Boot Menu" on the console \d+ ms after power-on/);
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, /1 ahead of you[\s\S]*on the console/);
    const console = await ok(pi, 'cat /var/log/pxe-client.log');
    for (const stage of ['SeaBIOS', 'iPXE', 'Next server: 10.0.0.1', 'Filename: pxelinux.0', 'PXELINUX 6.04']) assert.ok(console.includes(stage), stage);
    assert.match(await ok(pi, 'grep "sent /tftpboot/pxelinux.0 to" /var/log/dnsmasq.log'), /sent \/tftpboot\/pxelinux.0 to 10\.0\.0\.\d+/);
    assert.equal(await ok(pi, 'pgrep -c qemu-system || true; ip link show pxeclient0 2>/dev/null | wc -l'), '0\n0');
  });
});
