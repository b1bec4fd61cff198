/**
 * The PXE lab for real, in `network` sandboxes: the private /etc, the upstream router that only
 * NAT reaches, the lab's `service dnsmasq`, the machine's turn queue between two sandboxes (and
 * what a sandbox cannot do to it), and a diskless QEMU PC booting to the menu while another waits.
 *
 * No assertion here depends on how fast the machine is: a QEMU boot may take 5 s or 3 minutes
 * (software emulation on a busy machine). Who is ahead of whom in the turn queue is arranged, never
 * raced: the tests wait for each step to be reached (a file written, a place printed) before the
 * next one starts. The lab's server gives turns that cannot run out during the tests; the turn that
 * is taken back has a server of its own with short turns, held by a command that never ends by
 * itself. Timeouts are safety nets against a hang only.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultProfiles } from '../../../sandbox-server/src/config.ts';
import { startLessonSandbox } from '../../../sandbox-server/src/lesson-sandbox.ts';
import type { Sandbox } from '../../../sandbox-server/src/sandbox/backend.ts';
import { newAttendee, startTestServer, TestClient, type TestServer } from '../../../sandbox-server/test/helpers.ts';
import type { CheckResultPayload } from '../../../protocol/messages.ts';

const LESSON = '/opt/opslab/lesson';
/** Safety nets only, far beyond what any step takes on a slow machine: a script, a wait, a QEMU boot. */
const PATIENCE_MS = 10 * 60_000;
const BOOT_PATIENCE_MS = 30 * 60_000;
/** The lab server's turns: a day, so no turn runs out in these tests (setTimeout's limit is 24.8 days). */
const LONG_TURN_SECONDS = 24 * 60 * 60;
/** The turn that is taken back. */
const SHORT_TURN_SECONDS = 3;

type Result = { code: number | null; output: string };

const sh = async (sandbox: Sandbox, script: string, timeoutMs = PATIENCE_MS): Promise<Result> => {
  const result = await sandbox.exec(['bash', '-c', `export PATH=${LESSON}/bin:/opt/opslab/bin:$PATH\n${script}`], { timeoutMs });
  return { ...result, output: result.output.trim() };
};
const ok = async (sandbox: Sandbox, script: string, timeoutMs?: number) => {
  const result = await sh(sandbox, script, timeoutMs);
  assert.equal(result.code, 0, `${script}\n${result.output}`);
  return result.output;
};
/**
 * Shell for "now" in milliseconds on the machine's boot-time clock (/proc/uptime: monotonic, the
 * same in every sandbox, in hundredths of a second). No single quotes: it goes inside `bash -c '…'`.
 */
const NOW_MS = '$(( 10#$(cut -d" " -f1 /proc/uptime | tr -d .) * 10 ))';

/**
 * Polls `condition` (a shell test) in the sandbox until it holds. `running` is the command whose
 * progress is awaited: if it ends before the condition holds, there is nothing left to wait for.
 */
async function waitFor(sandbox: Sandbox, condition: string, what: string, running?: Promise<Result>): Promise<void> {
  let ended: string | undefined;
  running?.then(
    (result) => (ended = `it ended with status ${result.code}: ${result.output}`),
    (error: unknown) => (ended = `it failed: ${String(error)}`),
  );
  const deadline = Date.now() + PATIENCE_MS;
  for (;;) {
    const endedBefore = ended;
    if ((await sh(sandbox, condition)).code === 0) return;
    assert.equal(endedBefore, undefined, `waiting for ${what}: ${endedBefore}`);
    assert.ok(Date.now() < deadline, `waiting for ${what}: not after ${PATIENCE_MS / 60_000} min`);
    await sleep(100);
  }
}

/**
 * Takes a turn in the server's queue through a sandbox's door, speaking machine-turn's protocol,
 * and holds it until the returned function is called: the test decides when the turn ends.
 */
async function holdTurn(socketPath: string): Promise<() => void> {
  const socket = connect(socketPath);
  socket.setEncoding('utf8');
  let said = '';
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (text: string) => {
      said += text;
      if (/^turn \d+$/m.test(said)) resolve();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`the queue closed the connection after ${JSON.stringify(said)}`)));
  });
  return () => socket.destroy();
}

describe('the PXE lab', () => {
  let server: TestServer;
  let pi: Sandbox;
  let other: Sandbox;
  /** A third door to the queue, through which the test itself holds a turn (see holdTurn). */
  let gate: Sandbox;
  const turnSocket = (sandbox: Sandbox) => join(server.config.stagingDir, 'turns', `${sandbox.uid}.sock`);

  before(async () => {
    server = await startTestServer({ machineTurns: { slots: 1, seconds: LONG_TURN_SECONDS } });
    const staged = server.sessions.lesson(basename(join(import.meta.dirname, '..')))!;
    const lessonDir = staged.stagedDir;
    const start = async (id: string) => (await startLessonSandbox({ lesson: staged.lesson, stagedDir: lessonDir, backend: server.backend, profile: defaultProfiles.network, id })).sandbox;
    [pi, other] = await Promise.all([start('pxe-lab-a'), start('pxe-lab-b')]);
    gate = await server.backend.create({ id: 'pxe-lab-gate', lessonDir, ...defaultProfiles.small, machineTurns: true });
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
    await ok(pi, `bash ${LESSON}/steps/network/solve.sh && ping -c 1 -W 30 192.168.1.1`);
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
    // `service` returns once dnsmasq runs; dnsmasq logs its range when it has started, which on a
    // busy machine may be later: one line per start (solve.sh's, then the restart's).
    const ranges = 'grep -c "DHCP, IP range 10.0.0.50 -- 10.0.0.150" /var/log/dnsmasq.log';
    await waitFor(pi, `[ "$(${ranges})" -ge 2 ]`, 'dnsmasq to log its DHCP range twice');
    assert.match(await ok(pi, ranges), /^[2-9]$/);
    assert.equal((await sh(pi, 'service dnsmasq stop; service dnsmasq status')).code, 3);
    await ok(pi, 'service dnsmasq start');
  });

  test('the turn socket: one per sandbox, owned by its uid, and one place in the queue per sandbox', async () => {
    const stat = statSync(turnSocket(pi));
    assert.equal(stat.uid, pi.uid);
    assert.equal(stat.mode & 0o777, 0o600);
    // A second request from the same sandbox while the first waits or runs is refused: opening many
    // connections cannot crowd the other sandboxes out of the queue.
    const release = await holdTurn(turnSocket(gate));
    const first = sh(pi, `machine-turn bash -c 'touch /tmp/a-running; until [ -e /tmp/a-done ]; do sleep 0.1; done' 2>/tmp/a-queue; echo "status $?"`);
    try {
      await waitFor(pi, 'grep -q "1 ahead of you" /tmp/a-queue', 'the first request to wait in the queue', first);
      const whileWaiting = await sh(pi, 'machine-turn true');
      assert.equal(whileWaiting.code, 1);
      assert.match(whileWaiting.output, /this sandbox already has a turn or waits for one/);
    } finally {
      release();
    }
    await waitFor(pi, 'test -e /tmp/a-running', 'the first request to have its turn', first);
    const whileRunning = await sh(pi, 'machine-turn true');
    assert.equal(whileRunning.code, 1);
    assert.match(whileRunning.output, /this sandbox already has a turn or waits for one/);
    await ok(pi, 'touch /tmp/a-done');
    assert.equal((await first).output, 'status 0');
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

  test('turns are taken one at a time across sandboxes; the waiting one sees its place', async () => {
    // The first sandbox holds its turn until the test lets it go.
    const holder = sh(pi, `machine-turn bash -c 'touch /tmp/b-running; until [ -e /tmp/b-done ]; do sleep 0.1; done; echo ${NOW_MS} > /tmp/b-ended'; echo "status $?"`);
    await waitFor(pi, 'test -e /tmp/b-running', 'the first sandbox to have its turn', holder);
    const waiter = sh(other, `machine-turn bash -c 'echo ${NOW_MS} > /tmp/b-ran' 2>/tmp/b-queue; echo "status $?"; cat /tmp/b-queue`);
    await waitFor(other, 'grep -q "1 ahead of you" /tmp/b-queue', 'the second sandbox to see its place', waiter);
    // However long it has waited, the second has not run while the first holds its turn.
    assert.equal(await ok(other, 'test -e /tmp/b-ran && echo ran || echo waits'), 'waits');
    await ok(pi, 'touch /tmp/b-done');
    assert.equal((await holder).output, 'status 0');
    const waited = await waiter;
    assert.match(waited.output, /^status 0\n[\s\S]*waiting for a turn on this machine: 1 ahead of you/);
    const ended = Number(await ok(pi, 'cat /tmp/b-ended'));
    const ran = Number(await ok(other, 'cat /tmp/b-ran'));
    assert.ok(ran >= ended, `the second sandbox ran at ${ran} ms, before the first one's turn ended at ${ended} ms`);
  });

  test('a diskless PC boots from the attendee\'s server to the menu; a second boot waits for its turn', async () => {
    await ok(pi, `bash ${LESSON}/steps/menu/solve.sh`);
    // The other sandbox needs a server of its own for its PC: the same lab, solved.
    await ok(other, `for s in network nat dhcp menu; do bash ${LESSON}/steps/$s/solve.sh >/dev/null; done`);
    // The order is arranged, not raced: while the test holds the machine's turn, the attendee's
    // boot queues first, then the other one behind it; then the test lets go. (machine-turn's words
    // go to a file, read while the boots wait; the script prints them after `queue:`.)
    const boot = `pxe-client --until "Opslab PXE Boot Menu" 2>/tmp/boot-queue; status=$?; echo queue:; cat /tmp/boot-queue; exit $status`;
    const release = await holdTurn(turnSocket(gate));
    const boots: Array<Promise<Result>> = [];
    try {
      boots.push(sh(pi, boot, BOOT_PATIENCE_MS));
      await waitFor(pi, 'grep -q "1 ahead of you" /tmp/boot-queue', 'the first boot to queue', boots[0]);
      boots.push(sh(other, boot, BOOT_PATIENCE_MS));
      await waitFor(other, 'grep -q "2 ahead of you" /tmp/boot-queue', 'the second boot to queue', boots[1]);
      // Queued boots do not run QEMU.
      for (const sandbox of [pi, other]) assert.equal(await ok(sandbox, 'pgrep -c qemu-system || true'), '0');
    } finally {
      release();
    }
    const [booted, booted2] = (await Promise.all(boots)) as [Result, Result];
    assert.equal(booted.code, 0, booted.output);
    assert.match(booted.output, /^pxe-client: "Opslab PXE Boot Menu" on the console \d+ ms after power-on\nqueue:/);
    assert.equal(booted2.code, 0, booted2.output);
    assert.match(booted2.output, /^pxe-client: "Opslab PXE Boot Menu" on the console \d+ ms after power-on\nqueue:/);
    // Once the test let go, the only turn ahead of the second boot was the first boot's. (pxe-client
    // passes the queue's words on through a filter, which may write its last line after pxe-client
    // has exited: hence a wait, not a read.)
    await waitFor(other, 'grep -Pzq "2 ahead of you[\\s\\S]*1 ahead of you" /tmp/boot-queue', 'the second boot\'s "1 ahead of you"');
    // The firmware's stages on the console, read as the screen shows them (without escape sequences).
    const console = await ok(pi, `sed 's/\\x1b\\[[0-9;?]*[a-zA-Z]//g' /var/log/pxe-client.log`);
    for (const stage of ['SeaBIOS', 'iPXE', 'Next server: 10.0.0.1', 'Filename: pxelinux.0']) assert.ok(console.includes(stage), stage);
    // PXELINUX ran: it, and nothing before it, fetches its modules and its configuration. (Its banner
    // is no proof either way: SeaBIOS's serial console keeps characters back and once lost that line
    // when the menu cleared the screen right after it, though the menu itself showed.)
    for (const file of ['pxelinux.0', 'ldlinux.c32', 'pxelinux.cfg/default', 'vesamenu.c32']) {
      assert.match(await ok(pi, `grep "sent /tftpboot/${file} to" /var/log/dnsmasq.log`), new RegExp(`sent /tftpboot/${file.replace('.', '\\.')} to 10\\.0\\.0\\.\\d+`));
    }
    for (const sandbox of [pi, other]) assert.equal(await ok(sandbox, 'pgrep -c qemu-system || true; ip link show pxeclient0 2>/dev/null | wc -l'), '0\n0');
  });
});

describe('the boot step while the attendee\'s own PC runs in the client tab', () => {
  let server: TestServer;
  /** The test's door to the queue, to hold the machine's turn while the attendee's PC waits for it. */
  let gate: Sandbox;
  let client: TestClient;
  let host: TestClient;

  /** Types `command` into a terminal and waits for its end marker; returns what it printed. */
  async function shell(terminal: TestClient, command: string): Promise<string> {
    const marker = `done-${Math.random().toString(36).slice(2)}`;
    const from = terminal.output.length;
    // In two halves, so that the echo of the typed line does not end the wait: only its output does.
    terminal.type(`${command}; echo "${marker.slice(0, 5)}""${marker.slice(5)} $?"\r`);
    await printed(terminal, new RegExp(`${marker} \\d+`), from);
    return terminal.output.slice(from);
  }
  /** Waits for `pattern` in what a terminal printed after `from`, read as text (without escape sequences). */
  const printed = (terminal: TestClient, pattern: RegExp, from: number, timeoutMs = PATIENCE_MS) =>
    terminal.until(() => pattern.test(terminal.output.slice(from).replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '')), `output matching ${pattern}`, timeoutMs);
  /** The boot step's check as the page asks for it; the check may boot a PC of its own (minutes on a busy machine). */
  async function checkBoot(): Promise<CheckResultPayload> {
    const before = client.results.length;
    client.send({ op: 'check', request: { step: 'boot' } });
    await client.until(() => client.results.length > before, 'the result of checking boot', BOOT_PATIENCE_MS);
    return client.results.at(-1)!;
  }
  const qemus = async () => /qemus:(\d+)/.exec(await shell(host, 'echo "qemus:$(pgrep -c qemu-system)"'))?.[1];

  before(async () => {
    server = await startTestServer({ machineTurns: { slots: 1, seconds: LONG_TURN_SECONDS } });
    gate = await server.backend.create({ id: 'pxe-own-pc-gate', lessonDir: join(server.config.stagingDir, 'lessons', 'pxe'), ...defaultProfiles.small, machineTurns: true });
    // One attendee, two tabs of one sandbox: the client console and the pxe-server.
    const cookie = await newAttendee(server.url);
    client = new TestClient(server.url, cookie);
    await client.hello('pxe', 'client');
    await client.ready();
    host = new TestClient(server.url, cookie);
    await host.hello('pxe', 'server');
    await host.ready();
    for (const step of ['network', 'nat', 'dhcp', 'menu']) {
      const solved = await client.solve(step);
      assert.equal(solved.passed, true, `${step}: ${solved.feedback}`);
    }
  });
  after(async () => {
    await client.close();
    await host.close();
    await server.stop();
  });

  // The attendee's PC goes through its life in order, one test per stage: queued, showing the menu,
  // outdated by a new title, quit.
  let booting = 0;

  test('queued behind another turn: the check says the PC waits for its turn', async () => {
    // The attendee's PC queues behind the test's turn: arranged, not raced.
    const release = await holdTurn(join(server.config.stagingDir, 'turns', `${gate.uid}.sock`));
    try {
      booting = client.output.length;
      client.type('pxe-client\r');
      await printed(client, /1 ahead of you/, booting);
      const waiting = await checkBoot();
      assert.equal(waiting.passed, false, waiting.feedback);
      assert.match(waiting.feedback, /^Your PC waits for its turn in the client tab/);
    } finally {
      release();
    }
  });

  test('showing the menu: the check passes while the PC runs, and leaves it running', async () => {
    await printed(client, /Opslab PXE Boot Menu/, booting, BOOT_PATIENCE_MS);
    const shown = await checkBoot();
    assert.equal(shown.passed, true, shown.feedback);
    assert.match(shown.feedback, /shows your menu "Opslab PXE Boot Menu" in the client tab\.$/);
    assert.equal(await qemus(), '1', 'one QEMU: the attendee\'s, and none of the check\'s');
  });

  test('a title the running PC has not shown: the check says quit it with Ctrl-A X', async () => {
    await shell(host, "sed -i 's/^MENU TITLE .*/MENU TITLE Second light/' /tftpboot/pxelinux.cfg/pxe.conf");
    const renamed = await checkBoot();
    assert.equal(renamed.passed, false, renamed.feedback);
    assert.match(renamed.feedback, /^Your PC is still running in the client tab: quit it with Ctrl-A X, then Check again\. \(Its screen does not show your menu "Second light"/);
    assert.equal(await qemus(), '1');
  });

  test('quit with Ctrl-A X: the check boots a PC of its own and passes', async () => {
    const from = client.output.length;
    client.type('\x01x');
    // (QEMU's last words may land inside an escape sequence it had begun: "Terminated" is whole.)
    await printed(client, /Terminated\r?\n[\s\S]*# $/, from);
    assert.equal(await qemus(), '0');
    const off = await checkBoot();
    assert.equal(off.passed, true, off.feedback);
    assert.match(off.feedback, /The check's own PC showed your menu "Second light"/);
  });
});

describe('a machine turn held too long', () => {
  let server: TestServer;
  let sandbox: Sandbox;

  before(async () => {
    server = await startTestServer({ machineTurns: { slots: 1, seconds: SHORT_TURN_SECONDS } });
    sandbox = await server.backend.create({ id: 'pxe-short-turns', lessonDir: join(server.config.stagingDir, 'lessons', 'pxe'), ...defaultProfiles.network });
  });
  after(async () => {
    await server.stop();
  });

  test('is taken back: machine-turn stops its command and exits with status 75', async () => {
    // A day's sleep outlasts the test's patience: only the end of the turn stops it, however fast
    // or slow the machine. The turn lasts its full length: its timer starts after `start`.
    const held = await ok(sandbox, `start=${NOW_MS}; machine-turn sleep 86400; echo "status $? after $(( ${NOW_MS} - start )) ms"`);
    assert.match(held, new RegExp(`your turn of ${SHORT_TURN_SECONDS} s is over[\\s\\S]*status 75 after \\d+ ms$`));
    const heldMs = Number(/after (\d+) ms$/.exec(held)![1]);
    // (/proc/uptime counts in hundredths of a second.)
    assert.ok(heldMs >= SHORT_TURN_SECONDS * 1000 - 50, `the turn was taken back after ${heldMs} ms, before its ${SHORT_TURN_SECONDS} s`);
    assert.equal(await ok(sandbox, 'pgrep -c -f "^sleep 86400" || true'), '0');
  });
});
