/**
 * The escape suite: each test runs an attack inside a real sandbox (as the attendee would: root in
 * the sandbox, with the lesson's tools) and asserts that it fails. A script here exits 0 when the
 * attack was BLOCKED and prints what it saw otherwise.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Sandbox, SandboxDevice } from '../src/sandbox/backend.ts';
import type { ResourceLimits } from '../src/sandbox/cgroups.ts';
import { defaultProfiles } from '../src/config.ts';
import { stageLesson } from '../src/lesson-staging.ts';
import { processesWhere } from '../src/sandbox/procfs.ts';
import { loadLesson } from '../../src/lessons/catalog.ts';
import { startTestServer, type TestServer } from './helpers.ts';

const small = defaultProfiles.small.limits;

/** x86_64 numbers of calls the seccomp filter denies (docs/security.md). */
const deniedSyscalls: Record<string, number> = {
  ptrace: 101, syslog: 103, settimeofday: 164, acct: 163, swapon: 167, reboot: 169, iopl: 172, ioperm: 173,
  init_module: 175, delete_module: 176, clock_settime: 227, kexec_load: 246, add_key: 248, request_key: 249,
  keyctl: 250, perf_event_open: 298, open_by_handle_at: 304, process_vm_readv: 310, finit_module: 313,
  kexec_file_load: 320, bpf: 321, userfaultfd: 323, io_uring_setup: 425,
};

/** A call with harmless zero arguments: blocked means -1 with EPERM (the filter), not merely EINVAL. */
const syscallAttack = (nr: number) => `python3 - <<'PY'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(${nr}, 0, 0, 0, 0, 0)
e = ctypes.get_errno()
print("returned", r, "errno", e)
sys.exit(0 if r == -1 and e == 1 else 1)
PY`;

describe('escape attempts from a sandbox', () => {
  let server: TestServer;
  let a: Sandbox;
  let b: Sandbox;
  let lessonDir: string;
  let abstractServer: Server;
  let hostSecretDir: string;
  const abstractName = `opslab-host-only-${process.pid}`;

  const run = async (sandbox: Sandbox, script: string, timeoutMs = 20_000) => sandbox.exec(['bash', '-c', script], { timeoutMs });
  const create = (limits: ResourceLimits = small, dir = lessonDir, devices: readonly SandboxDevice[] = []) =>
    server.backend.create({ id: `escape-${Math.random()}`, lessonDir: dir, limits, devices });

  before(async () => {
    server = await startTestServer();
    lessonDir = join(server.config.stagingDir, 'lessons/getting-started');
    a = await create();
    b = await create();
    abstractServer = createServer((s) => s.end('host secret\n'));
    await new Promise<void>((resolve) => abstractServer.listen(`\0${abstractName}`, resolve));
    hostSecretDir = mkdtempSync(join(tmpdir(), 'opslab-host-secret-'));
    writeFileSync(join(hostSecretDir, 'secret'), 'host-only secret\n', { mode: 0o644 });
  });
  after(async () => {
    abstractServer.close();
    rmSync(hostSecretDir, { recursive: true, force: true });
    await server.stop();
  });

  const attacks: Record<string, string | (() => string)> = {
    'read the host /etc/shadow': '! cat /etc/shadow',
    'write under /usr': '! touch /usr/bin/opslab-evil',
    'append to /etc/passwd': "! sh -c 'echo evil:x:0:0::/:/bin/sh >> /etc/passwd'",
    'remount /usr read-write': '! mount -o remount,rw /usr',
    'see host processes (the server, node)': "! ps ax -o comm= | grep -qE '^(node|tsx|systemd|init)$' && [ $(ls /proc | grep -cE '^[0-9]+$') -lt 15 ]",
    'signal the server by its host pid': () => `! kill -0 ${process.pid}`,
    'reach /proc of the server by its host pid': () => `! ls /proc/${process.pid}/root/`,
    'walk out through /proc/1/root': "! cat /proc/1/root/etc/shadow && [ \"$(readlink /proc/1/root)\" = / ]",
    // 0-2 are the exec's own stdio (libuv uses socketpairs); anything else open would be a host fd leaking in.
    'inherit a host file descriptor (/proc/self/fd)': `python3 - <<'PY'
import os, sys
leaked = []
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except FileNotFoundError:
        continue  # the directory listing's own fd, closed again
    ok = int(fd) <= 2 and (target.startswith(("pipe:", "socket:")) or target == "/dev/null")
    if not ok and not target.startswith("/proc/"):
        leaked.append(f"{fd} -> {target}")
print("leaked:", leaked)
sys.exit(1 if leaked else 0)
PY`,
    'see the project checkout or the staging folder': '! test -e /work && ! test -e /var/lib/opslab && ! ls /opt/opslab/lesson/../../../var/lib/opslab',
    'escape a chroot with the classic chdir(..) trick': `python3 - <<'PY'
import os, sys
os.makedirs("/tmp/jail", exist_ok=True)
fd = os.open("/", os.O_RDONLY)
os.chroot("/tmp/jail")
os.fchdir(fd)
for _ in range(64): os.chdir("..")
os.chroot(".")
try:
    open("/etc/shadow").read(); print("read the host shadow"); sys.exit(1)
except PermissionError:
    sys.exit(0 if not os.path.exists("/work") else 1)
PY`,
    'mount a host disk': '! test -e /dev/vda && ! test -e /dev/sda && ! mount /dev/vda /mnt 2>/dev/null',
    'create a block device node': '! mknod /tmp/disk b 253 0',
    'read kernel memory': '! test -e /dev/mem && ! cat /proc/kcore > /dev/null',
    'read the kernel log (dmesg)': '! dmesg',
    'write a kernel tunable in /proc/sys': "! sh -c 'echo 3 > /proc/sys/vm/drop_caches'",
    'reach cgroupfs to raise its own limits': "! test -e /sys/fs/cgroup/memory && mkdir -p /tmp/cg && (mount -t cgroup -o memory none /tmp/cg 2>/dev/null; ! sh -c 'echo 99999999999 > /tmp/cg/memory.limit_in_bytes' 2>/dev/null)",
    'use /dev/net/tun without a profile that grants it': '! test -e /dev/net/tun',
    'reach the server port on loopback': () => `! curl -s --max-time 2 http://127.0.0.1:${server.port}/api/health`,
    'reach a host abstract unix socket': () => `! python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\0${abstractName}'); print(s.recv(64))"`,
    'find a route or interface to the host network': '[ "$(ip -o link | wc -l)" = 1 ] && [ -z "$(ip route)" ] && [ -z "$(ip -6 route | grep -v ^fe80)" ]',
    'regain privileges with a nested user namespace': '! unshare -Ur cat /etc/shadow',
    'regain host groups with setgroups': `! python3 -c "import os; os.setgroups([0])"`,
    'rewrite its own uid map': "! sh -c 'echo \"0 0 4294967295\" > /proc/self/uid_map'",
    // Host root owns the setuid binaries; inside they belong to an unmapped uid, and no_new_privs ignores the bit anyway.
    'gain privileges through a setuid binary': 'test -u /usr/bin/su && [ "$(stat -c %u /usr/bin/su)" = 65534 ] && grep -q "^NoNewPrivs:.*1" /proc/self/status && ! /usr/bin/su -c "cat /etc/shadow" root </dev/null',
    'type into a terminal with TIOCSTI': `python3 - <<'PY'
import fcntl, os, pty, sys, termios
master, slave = pty.openpty()
try:
    fcntl.ioctl(slave, termios.TIOCSTI, b"x"); print("TIOCSTI worked"); sys.exit(1)
except PermissionError:
    sys.exit(0)
PY`,
    'poke the console with TIOCLINUX': `python3 - <<'PY'
import fcntl, pty, sys
master, slave = pty.openpty()
try:
    fcntl.ioctl(slave, 0x541C, bytes([6, 0])); print("TIOCLINUX worked"); sys.exit(1)
except PermissionError:
    sys.exit(0)
PY`,
    'change the host name of the machine': () => `hostname opslab-evil && [ "$(hostname)" = opslab-evil ]`,
    // Allowed in its own network namespace (lessons build bridges and veths) — and invisible to the host (checked below).
    'create a network device that reaches the host': 'ip link add opslabx0 type bridge && ip link add opslabv0 type veth peer name opslabv1 && ip -o link | grep -q opslabv1',
  };
  for (const [name, nr] of Object.entries(deniedSyscalls)) attacks[`call ${name}() (seccomp)`] = syscallAttack(nr);

  for (const [name, script] of Object.entries(attacks)) {
    test(name, async () => {
      const result = await run(a, typeof script === 'function' ? script() : script);
      assert.equal(result.code, 0, `the attack was not blocked: ${result.output}`);
    });
  }

  test('the host is unchanged by what root in the sandbox may do in its own namespaces', async () => {
    assert.notEqual(hostname(), 'opslab-evil');
    const { execFileSync } = await import('node:child_process');
    for (const link of ['opslabx0', 'opslabv0', 'opslabv1']) assert.throws(() => execFileSync('ip', ['link', 'show', link], { stdio: 'pipe' }), `${link} exists on the host`);
  });

  test('every sandbox process runs as the sandbox\'s own unprivileged host uid, with seccomp and no_new_privs', async () => {
    const result = await run(a, 'grep -E "^(Uid|Gid|Groups|Seccomp|NoNewPrivs):" /proc/self/status');
    assert.match(result.output, /^Uid:\s+0\s+0\s+0\s+0$/m); // root inside…
    assert.match(result.output, /^Seccomp:\s+2$/m);
    assert.match(result.output, /^NoNewPrivs:\s+1$/m);
    const hostView = processesWhere((uid) => uid === a.uid);
    assert.ok(hostView.length >= 2, 'the sandbox has processes under its uid'); // …a plain uid outside
    assert.ok(a.uid >= server.config.uidBase && a.uid !== b.uid);
  });

  test('a profile that grants /dev/net/tun gets tap devices in its own network namespace only', async () => {
    const granted = await create(small, lessonDir, ['/dev/net/tun']);
    try {
      const result = await run(granted, 'ip tuntap add dev opslabtap0 mode tap && ip link set opslabtap0 up && ip -o link show opslabtap0 && ! mknod /tmp/tun2 c 10 200');
      assert.equal(result.code, 0, result.output);
      const { execFileSync } = await import('node:child_process');
      assert.throws(() => execFileSync('ip', ['link', 'show', 'opslabtap0'], { stdio: 'pipe' }), 'the tap device exists on the host');
    } finally {
      await granted.destroy();
    }
  });

  test('see another sandbox\'s processes, files or terminal', async () => {
    await run(b, 'echo b-secret > /tmp/b-secret; echo b-home > /root/b-home; (setsid sleep 4242 >/dev/null 2>&1 &)');
    const result = await run(a, "! pgrep -f 'sleep 424[2]' && ! test -e /tmp/b-secret && ! test -e /root/b-home && ! ls /proc/*/root/tmp/b-secret 2>/dev/null && [ -z \"$(ls /dev/pts | grep -v ptmx)\" ]");
    assert.equal(result.code, 0, result.output);
  });

  test('symlinks in lesson files are copied as links and resolve inside the sandbox only', async () => {
    const source = mkdtempSync(join(tmpdir(), 'opslab-symlink-lesson-'));
    try {
      mkdirSync(join(source, 'files'));
      mkdirSync(join(source, 'steps/s'), { recursive: true });
      writeFileSync(join(source, 'index.mdx'), '---\ntitle: T\nsummary: S\nduration: 1\norder: 1\n---\n<Step id="s" title="S">\n</Step>\n');
      writeFileSync(join(source, 'steps/s/check.sh'), 'exit 0\n');
      writeFileSync(join(source, 'steps/s/solve.sh'), 'exit 0\n');
      symlinkSync(join(hostSecretDir, 'secret'), join(source, 'files/secret-link'));
      symlinkSync('/', join(source, 'files/host-root'));
      const staged = stageLesson(loadLesson(source, 'symlinks'), server.config.stagingDir);
      const sandbox = await create(small, staged);
      try {
        const setup = await run(sandbox, 'exit 0');
        assert.equal(setup.code, 0);
        const result = await run(sandbox, `cp -RP --preserve=mode,timestamps /opt/opslab/lesson/files/. /root/ && test -L /root/secret-link && ! cat /root/secret-link && ! test -e /root/host-root/work && ! cat /opt/opslab/lesson/files/secret-link`);
        assert.equal(result.code, 0, result.output);
      } finally {
        await sandbox.destroy();
      }
    } finally {
      rmSync(source, { recursive: true, force: true });
    }
  });

  test('fill the disk: every writable tmpfs is capped', async () => {
    const result = await run(a, "for d in /tmp /root /var /run; do ! dd if=/dev/zero of=$d/fill bs=1M count=400 2>/dev/null || { echo \"$d took 400 MiB\"; exit 1; }; rm -f $d/fill; done");
    assert.equal(result.code, 0, result.output);
  });

  test('exhaust memory: the OOM killer acts inside the sandbox only', async () => {
    const hog = await create();
    try {
      const result = await run(hog, 'python3 -c "b = bytearray(2 * 1024**3); print(\'allocated\')"');
      assert.notEqual(result.code, 0);
      assert.doesNotMatch(result.output, /allocated/);
      assert.ok((hog.stats()?.oomKills ?? 0) >= 1 || /MemoryError/.test(result.output), `no OOM kill and no MemoryError: ${result.output}`);
      assert.ok(hog.alive, 'the sandbox itself survives its OOM');
      assert.equal((await run(b, 'echo still-here')).output.trim(), 'still-here');
    } finally {
      await hog.destroy();
    }
  });

  test('fork bomb: contained by the pids limit; another sandbox keeps answering', async () => {
    const bomb = await create();
    try {
      await run(bomb, '(setsid bash -c \':(){ :|:& };:\' >/dev/null 2>&1 &); sleep 1; exit 0', 10_000);
      const stats = bomb.stats()!;
      assert.ok(stats.pids <= small.pids, `pids ${stats.pids} > ${small.pids}`);
      assert.equal((await run(b, 'echo answering')).output.trim(), 'answering');
    } finally {
      await bomb.destroy();
    }
    assert.deepEqual(processesWhere((uid) => uid === bomb.uid), []);
  });

  test('CPU hog: its cgroup is throttled; another sandbox keeps answering', async () => {
    const hog = await create({ ...small, cpuPercent: 20 });
    try {
      await run(hog, 'for i in 1 2; do (timeout 2 sh -c "while :; do :; done" &) ; done; sleep 1.5');
      assert.ok(hog.stats()!.cpuThrottledPeriods > 0, 'the hog was never throttled');
      assert.equal((await run(b, 'echo answering')).output.trim(), 'answering');
    } finally {
      await hog.destroy();
    }
  });
});
