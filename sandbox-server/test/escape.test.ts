/**
 * The escape suite: each test runs an attack inside a real sandbox (as the attendee would: root in
 * the sandbox, with the lesson's tools) and asserts the specific denial that shows which defence
 * stopped it: the message or errno, not merely a failing command (a missing tool, a typo or an
 * unrelated error fail too, and would pass a test that only asked for failure). The tools an attack
 * needs are looked up first: a missing tool fails the test.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestOptions } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sandbox, SandboxDevice } from '../src/sandbox/backend.ts';
import { STARTING_CPU_SHARES, type ResourceLimits } from '../src/sandbox/cgroups.ts';
import { defaultProfiles, projectRoot } from '../src/config.ts';
import { stageLesson } from '../src/lesson-staging.ts';
import { processesWhere } from '../src/sandbox/procfs.ts';
import { loadLesson } from '../../lesson-model/catalog.ts';
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

/** The disk holding the checkout, as the host sees it: what an attacker would mount or make a node for. */
const hostDisk = (() => {
  const [source = '', fsType = '', numbers = ''] = execFileSync('findmnt', ['-no', 'SOURCE,FSTYPE,MAJ:MIN', '-T', projectRoot]).toString().trim().split(/\s+/);
  const [major, minor] = numbers.split(':');
  return { source, fsType, major, minor };
})();

/** An attack: the programs it needs, its script, and the denial its output must show. */
interface Attack {
  /** Looked up with `command -v` first: a missing one fails the test (it would "block" any attack). */
  tools: string[];
  script: string;
  /** The denial: what shows which defence acted (the message or errno), each part in the output. */
  denied: Array<string | RegExp>;
}

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

  const requireTools = async (sandbox: Sandbox, tools: string[]) => {
    const result = await run(sandbox, tools.map((tool) => `command -v ${tool} >/dev/null || echo "tool ${tool} missing"`).join('\n'));
    assert.equal(result.output, '', `${result.output.trim()} in the sandbox: the attack cannot be tried`);
  };

  /** Each of `expected` must be in `output`: a string verbatim, a RegExp as a match. */
  const expectOutput = (output: string, expected: Array<string | RegExp>, what: string) => {
    for (const pattern of expected) {
      if (typeof pattern === 'string') assert.ok(output.includes(pattern), `${what}: expected "${pattern}", got:\n${output}`);
      else assert.match(output, pattern, `${what}: expected ${pattern}, got:\n${output}`);
    }
  };

  /** Runs the attack in sandbox a: it must fail, and fail with the denial of the defence that is meant to stop it. */
  const expectDenied = async ({ tools, script, denied }: Attack) => {
    await requireTools(a, tools);
    const result = await run(a, script);
    assert.notEqual(result.code, 0, `the attack succeeded:\n${result.output}`);
    expectOutput(result.output, denied, 'not denied by the expected defence');
  };

  /** A test of one attack; `make` runs when the test does, once the server and its sandboxes exist. */
  const attack = (name: string, make: () => Attack, options: TestOptions = {}) => test(name, options, () => expectDenied(make()));

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

  // /etc is the host's (bound read-only). Its owner, host root, is not mapped in the sandbox's user
  // namespace, so the sandbox's root has no capability over it: mode 0640 leaves it nothing.
  attack('read the host /etc/shadow', () => ({ tools: ['cat'], script: 'cat /etc/shadow', denied: ['cat: /etc/shadow: Permission denied'] }));
  // The read-only bind mount: creating a file checks the mount before the directory's permissions.
  attack('write under /usr', () => ({ tools: ['touch'], script: 'touch /usr/bin/opslab-evil', denied: ["touch: cannot touch '/usr/bin/opslab-evil': Read-only file system"] }));
  // /etc is read-only too, but opening an existing file checks its permissions first: host root's (unmapped), mode 0644.
  attack('append to /etc/passwd', () => ({ tools: ['sh'], script: "sh -c 'echo evil:x:0:0::/:/bin/sh >> /etc/passwd'", denied: ['cannot create /etc/passwd: Permission denied'] }));

  // The platform's mounts are bound read-only by host root before bwrap copies them into the
  // sandbox's user namespace, which locks the flag (the spawner's lock-ro): root in the sandbox
  // gets EPERM ("permission denied") instead of a writable /usr, in every profile.
  for (const [profile, spec] of Object.entries(defaultProfiles)) {
    test(`remount the platform's files read-write (${profile} profile)`, async () => {
      const sandbox = await create(spec.limits, lessonDir, spec.devices);
      try {
        await requireTools(sandbox, ['mount', 'touch', 'python3']);
        const mounts = ['/usr', '/etc', '/opt/opslab/lesson', '/opt/opslab/bin'];
        // A file's mount (bashrc) through mount(2) itself: mount(8) words every refusal on a file as "not a directory".
        const remountFile = `python3 -c "import ctypes, errno; libc = ctypes.CDLL(None, use_errno=True); r = libc.mount(None, b'/opt/opslab/bashrc', None, 32 | 4096, None); print('bashrc remount:', r, errno.errorcode.get(ctypes.get_errno()))"`;
        const result = await run(sandbox, `${mounts.map((m) => `mount -o remount,bind,rw ${m}`).join('; ')}; ${remountFile}; touch /usr/bin/opslab-evil`);
        assert.notEqual(result.code, 0, result.output);
        expectOutput(result.output, [...mounts.map((m) => `mount: ${m}: permission denied.`), 'bashrc remount: -1 EPERM', "touch: cannot touch '/usr/bin/opslab-evil': Read-only file system"], 'remount not refused');
      } finally {
        await sandbox.destroy();
      }
    });
  }

  // The sandbox's own pid namespace: its pid 1 is its own init (native/sandbox-init.c), and no host process (the server, the host's init) is listed.
  test('see host processes (the server, node)', async () => {
    await requireTools(a, ['ps']);
    const result = await run(a, 'ps -eo pid=,comm=');
    assert.equal(result.code, 0, result.output);
    const processes = result.output.trim().split('\n').map((line) => line.trim().split(/\s+/));
    assert.deepEqual(processes[0], ['1', 'sandbox-init'], `pid 1 is not the sandbox's init:\n${result.output}`);
    const hostInit = readFileSync('/proc/1/comm', 'utf8').trim();
    const hostOnly = processes.filter(([, comm]) => ['node', 'tsx', 'systemd', 'init', hostInit].includes(comm!));
    assert.deepEqual(hostOnly, [], `host processes are visible:\n${result.output}`);
    assert.ok(processes.length < 15, `too many processes for one sandbox:\n${result.output}`);
  });
  // Host pids mean nothing in the sandbox's pid namespace (its own pids are small: no clash with the server's).
  attack('signal the server by its host pid', () => ({ tools: ['kill'], script: `kill -0 ${process.pid}`, denied: [`kill: (${process.pid}) - No such process`] }));
  attack('reach /proc of the server by its host pid', () => ({
    tools: ['ls'],
    script: `ls /proc/${process.pid}/root/`,
    denied: [`ls: cannot access '/proc/${process.pid}/root/': No such file or directory`],
  }));
  // The sandbox's pid 1 takes no signal from inside: the kernel drops those its init has no handler
  // for (SIGKILL included), so an attendee cannot end the sandbox under everyone's feet by killing it.
  test('end the sandbox by killing its pid 1 from inside', async () => {
    await requireTools(a, ['cat']);
    const result = await run(a, 'kill -KILL 1; kill -TERM 1; kill -INT 1; kill -HUP 1; sleep 0.2; cat /proc/1/comm');
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output.trim(), 'sandbox-init', `pid 1 did not survive:\n${result.output}`);
    assert.ok(a.alive, 'the sandbox died');
  });
  // pid 1 wrote "ready" into the pipe the server reads bwrap's start from; kept open, any process
  // of the sandbox could flood the spawner and the server through /proc/1/fd/1.
  test("write into the server's pipe through the sandbox's pid 1 (/proc/1/fd)", async () => {
    await requireTools(a, ['ls', 'readlink', 'tr']);
    const result = await run(a, 'ls /proc/1/fd | tr "\\n" " "; echo; for fd in 0 1 2; do readlink /proc/1/fd/$fd; done');
    assert.equal(result.code, 0, result.output);
    const [fds, ...targets] = result.output.trim().split('\n');
    assert.equal(fds!.trim(), '0 1 2', `pid 1 holds more than its stdio:\n${result.output}`);
    assert.deepEqual(targets, ['/dev/null', '/dev/null', '/dev/null'], result.output);
  });
  // /proc/1 is the sandbox's own init, whose root is the sandbox's: no checkout under it, and the same unreadable shadow.
  attack('walk out through /proc/1/root', () => ({
    tools: ['cat', 'ls'],
    script: `cat /proc/1/comm; ls -d /proc/1/root${projectRoot}; cat /proc/1/root/etc/shadow`,
    denied: [/^sandbox-init$/m, `ls: cannot access '/proc/1/root${projectRoot}': No such file or directory`, 'cat: /proc/1/root/etc/shadow: Permission denied'],
  }));

  // The spawner gives each process only its stdio (a pipe, /dev/null or its pty) before it starts;
  // anything else open would be a host descriptor leaking in.
  test('inherit a host file descriptor (/proc/self/fd)', async () => {
    await requireTools(a, ['python3']);
    const result = await run(a, `python3 - <<'PY'
import os
seen, leaked = [], []
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except FileNotFoundError:
        continue  # the directory listing's own fd, closed again
    seen.append(int(fd))
    ok = int(fd) <= 2 and (target.startswith(("pipe:", "socket:")) or target == "/dev/null")
    if not ok and not target.startswith("/proc/"):
        leaked.append(f"{fd} -> {target}")
print("seen:", sorted(seen))
print("leaked:", leaked)
PY`);
    assert.equal(result.code, 0, result.output);
    expectOutput(result.output, [/^seen: \[0, 1, 2\]$/m, /^leaked: \[\]$/m], 'a host descriptor is open in the sandbox');
  });

  // Neither is bound in (the staged lesson is, at /opt/opslab/lesson; its `..` is the sandbox's /opt/opslab).
  attack('see the project checkout or the staging folder', () => {
    const paths = [projectRoot, server.config.stagingDir, `/opt/opslab/lesson/../../..${server.config.stagingDir}`];
    return { tools: ['ls'], script: `ls -d ${paths.join(' ')}`, denied: paths.map((path) => `ls: cannot access '${path}': No such file or directory`) };
  });
  // The trick works (root in the sandbox may chroot), but only back up to the sandbox's own root, which is a mount namespace's root, not a chroot.
  attack('escape a chroot with the classic chdir(..) trick', () => ({
    tools: ['python3'],
    script: `python3 - <<'PY'
import errno, os, sys
os.makedirs("/tmp/jail", exist_ok=True)
fd = os.open("/", os.O_RDONLY)
os.chroot("/tmp/jail")
os.fchdir(fd)
for _ in range(64): os.chdir("..")
os.chroot(".")
print("sandbox root:", os.path.exists("/opt/opslab/lesson"), "checkout:", os.path.exists("${projectRoot}"))
try:
    open("/etc/shadow").read(); print("read the host shadow")
except OSError as e:
    print("shadow:", errno.errorcode[e.errno]); sys.exit(1)
PY`,
    denied: ['sandbox root: True checkout: False', 'shadow: EACCES'],
  }));

  // The sandbox's /dev (bwrap's) has no disks; and a disk filesystem may only be mounted with
  // CAP_SYS_ADMIN over the host's user namespace: the kernel says EPERM before it looks for the device.
  attack('mount a host disk', () => ({
    tools: ['ls', 'mount'],
    script: `ls ${hostDisk.source}; mkdir -p /tmp/mnt; mount -t ${hostDisk.fsType} -o ro ${hostDisk.source} /tmp/mnt`,
    denied: [`ls: cannot access '${hostDisk.source}': No such file or directory`, 'mount: /tmp/mnt: permission denied.'],
  }));
  // Device nodes need CAP_MKNOD over the host's user namespace (EPERM); this one would be the host's disk.
  attack('create a block device node', () => ({
    tools: ['mknod'],
    script: `mknod /tmp/disk b ${hostDisk.major} ${hostDisk.minor}`,
    denied: ['mknod: /tmp/disk: Operation not permitted'],
  }));
  attack('read kernel memory (/dev/mem)', () => ({
    tools: ['cat', 'mknod'],
    script: 'cat /dev/mem; mknod /tmp/mem c 1 1',
    denied: ['cat: /dev/mem: No such file or directory', 'mknod: /tmp/mem: Operation not permitted'],
  }));
  // The sandbox's procfs has kcore where the kernel does: host root's (unmapped), mode 0400. Some
  // kernels have none; then there is nothing to try, and a pass would prove nothing.
  attack(
    'read kernel memory (/proc/kcore)',
    () => ({ tools: ['cat'], script: 'cat /proc/kcore > /dev/null', denied: ['cat: /proc/kcore: Permission denied'] }),
    { skip: existsSync('/proc/kcore') ? false : 'this kernel has no /proc/kcore' },
  );
  // The sandbox's /dev has no /dev/kmsg, so dmesg falls back to syslog(2), which the seccomp filter
  // refuses with EPERM (with dmesg_restrict=1 the kernel itself would also say EPERM).
  attack('read the kernel log (dmesg)', () => ({ tools: ['dmesg'], script: 'dmesg', denied: ['dmesg: read kernel buffer failed: Operation not permitted'] }));
  // vm.* is the host's, not per namespace: the file is host root's (unmapped), mode 0200.
  attack('write a kernel tunable in /proc/sys', () => ({
    tools: ['sh'],
    script: "sh -c 'echo 3 > /proc/sys/vm/drop_caches'",
    denied: ['cannot create /proc/sys/vm/drop_caches: Permission denied'],
  }));
  // There is no /sys. Its cgroup namespace lets root mount cgroupfs, but the root of that mount is
  // the sandbox's own group (its own limit shows), whose files host root owns (unmapped).
  attack('reach cgroupfs to raise its own limits', () => ({
    tools: ['ls', 'mount', 'cat'],
    script: 'ls /sys/fs/cgroup; mkdir -p /tmp/cg && mount -t cgroup -o memory none /tmp/cg && cat /tmp/cg/memory.limit_in_bytes && echo 99999999999 > /tmp/cg/memory.limit_in_bytes',
    denied: ["ls: cannot access '/sys/fs/cgroup': No such file or directory", new RegExp(`^${small.memoryBytes}$`, 'm'), '/tmp/cg/memory.limit_in_bytes: Permission denied'],
  }));
  // cpuacct is counted per sandbox too: the root of a cpuacct mount is the sandbox's own group, so
  // another sandbox's CPU (a side channel on what its attendee runs) is not in what it reads there.
  test('read another sandbox\'s CPU use in cgroupfs: the cpuacct it can mount counts its own only', async () => {
    const viewer = await create();
    try {
      await requireTools(b, ['bash']);
      await requireTools(viewer, ['mount', 'cat']);
      // b works first: had the viewer's mount been a parent group's, b's work would be in it.
      const burn = await run(b, 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo worked');
      assert.match(burn.output, /worked/);
      // Where cpu and cpuacct are mounted together, the kernel mounts them only together.
      const seen = await run(viewer, 'mkdir -p /tmp/ca && { mount -t cgroup -o cpuacct none /tmp/ca 2>/dev/null || mount -t cgroup -o cpu,cpuacct none /tmp/ca; } && cat /tmp/ca/cpuacct.usage');
      assert.equal(seen.code, 0, `cgroupfs could not be mounted, the test proves nothing: ${seen.output}`);
      const seenSeconds = Number(seen.output.trim()) / 1e9;
      const own = viewer.stats()?.cpuSeconds;
      assert.ok(own !== undefined, 'the server counts the sandbox\'s CPU (cpuacct)');
      // Read after, its own group's count can only be larger: it is what the sandbox read.
      assert.ok(seenSeconds <= own, `it read ${seenSeconds} s: no more than its own group's ${own} s, read after`);
    } finally {
      await viewer.destroy();
    }
  });
  // Bound in only for a profile that grants it (--dev-bind); the node cannot be made either.
  attack('use /dev/net/tun without a profile that grants it', () => ({
    tools: ['ip', 'mknod'],
    script: 'ip tuntap add dev opslabtap0 mode tap; mknod /tmp/tun c 10 200',
    denied: ['open: No such file or directory', 'mknod: /tmp/tun: Operation not permitted'],
  }));

  // The sandbox's network namespace has a loopback of its own, where nothing listens (curl's 7: refused, not a timeout).
  attack('reach the server port on loopback', () => ({
    tools: ['curl'],
    script: `curl -sS --max-time 5 http://127.0.0.1:${server.port}/api/health`,
    denied: [`curl: (7) Failed to connect to 127.0.0.1 port ${server.port}`, "Couldn't connect to server"],
  }));
  // Abstract unix socket names belong to a network namespace: the host's name does not exist in the sandbox's.
  attack('reach a host abstract unix socket', () => ({
    tools: ['python3'],
    script: `python3 - <<'PY'
import errno, socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\\0${abstractName}"); print("connected:", s.recv(64))
except OSError as e:
    print("connect:", errno.errorcode[e.errno]); sys.exit(1)
PY`,
    denied: ['connect: ECONNREFUSED'],
  }));
  test('find a route or interface to the host network', async () => {
    await requireTools(a, ['ip']);
    const result = await run(a, 'ip -o link; echo "routes:"; ip route; ip -6 route | grep -v ^fe80');
    const links = result.output.split('\n').filter((line) => /^\d+: /.test(line)).map((line) => line.split(': ')[1]);
    assert.deepEqual(links, ['lo'], `interfaces besides the loopback:\n${result.output}`);
    assert.equal(result.output.split('routes:\n')[1], '', `routes in the sandbox:\n${result.output}`);
  });

  // Lessons need unshare, so a nested user namespace is allowed: its root is the sandbox's root again
  // (uid 0 there), with nothing more over host files.
  attack('regain privileges with a nested user namespace', () => ({
    tools: ['unshare', 'sh', 'id', 'cat'],
    script: "unshare -Ur sh -c 'id -u; cat /etc/shadow'",
    denied: [/^0$/m, 'cat: /etc/shadow: Permission denied'],
  }));
  // bwrap, unprivileged, writes "deny" to /proc/self/setgroups before its gid map: no process in the namespace may setgroups().
  attack('regain host groups with setgroups', () => ({
    tools: ['python3'],
    script: `python3 - <<'PY'
import errno, os, sys
print("setgroups:", open("/proc/self/setgroups").read().strip())
try:
    os.setgroups([0]); print("setgroups worked")
except OSError as e:
    print("setgroups([0]):", errno.errorcode[e.errno]); sys.exit(1)
PY`,
    denied: ['setgroups: deny', 'setgroups([0]): EPERM'],
  }));
  // A user namespace's uid map is written once (by bwrap, as the sandbox's namespace was made): any later write is EPERM.
  attack('rewrite its own uid map', () => ({
    tools: ['python3'],
    script: `python3 - <<'PY'
import errno, os, sys
fd = os.open("/proc/self/uid_map", os.O_WRONLY)
try:
    os.write(fd, b"0 0 4294967295\\n"); print("uid map rewritten")
except OSError as e:
    print("uid_map:", errno.errorcode[e.errno]); sys.exit(1)
PY`,
    denied: ['uid_map: EPERM'],
  }));
  // Host root owns the setuid binaries; inside they belong to an unmapped uid, so the kernel ignores
  // the bit (and no_new_privs would anyway). su runs as the sandbox's root and stops at setgroups (denied, above).
  attack('gain privileges through a setuid binary', () => ({
    tools: ['stat', 'grep', '/usr/bin/su'],
    script: 'stat -c "%u %A" /usr/bin/su; grep NoNewPrivs /proc/self/status; /usr/bin/su -c "cat /etc/shadow" root </dev/null',
    denied: [/^65534 -rws/m, /^NoNewPrivs:\s+1$/m, 'su: cannot set groups: Operation not permitted'],
  }));
  // The pty is made this process's controlling terminal: there the kernel itself would allow
  // TIOCSTI (dev.tty.legacy_tiocsti=1; EIO where it is 0), so EPERM can only be the seccomp filter.
  attack('type into a terminal with TIOCSTI', () => ({
    tools: ['python3'],
    script: `python3 - <<'PY'
import errno, fcntl, os, pty, sys, termios
master, slave = pty.openpty()
os.setsid()
fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
try:
    fcntl.ioctl(slave, termios.TIOCSTI, b"x"); print("TIOCSTI worked")
except OSError as e:
    print("TIOCSTI:", errno.errorcode[e.errno]); sys.exit(1)
PY`,
    denied: ['TIOCSTI: EPERM'],
  }));
  // On a pty the kernel answers TIOCLINUX with ENOTTY (it is a virtual console's): EPERM is the seccomp filter's.
  attack('poke the console with TIOCLINUX', () => ({
    tools: ['python3'],
    script: `python3 - <<'PY'
import errno, fcntl, pty, sys
master, slave = pty.openpty()
try:
    fcntl.ioctl(slave, 0x541C, bytes([6, 0])); print("TIOCLINUX worked")
except OSError as e:
    print("TIOCLINUX:", errno.errorcode[e.errno]); sys.exit(1)
PY`,
    denied: ['TIOCLINUX: EPERM'],
  }));

  for (const [name, nr] of Object.entries(deniedSyscalls)) {
    test(`call ${name}() (seccomp)`, async () => {
      const result = await run(a, syscallAttack(nr));
      assert.equal(result.code, 0, `the call was not refused with EPERM: ${result.output}`);
    });
  }

  // Not an attack that fails: root may name its own UTS namespace (lessons set host names). What must hold is that it stays there.
  test('root renames its own UTS namespace only: the host and other sandboxes keep their names', async () => {
    const hostName = hostname();
    await requireTools(a, ['hostname']);
    const result = await run(a, 'hostname opslab-evil && hostname');
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output.trim(), 'opslab-evil');
    assert.equal(hostname(), hostName);
    assert.equal((await run(b, 'hostname')).output.trim(), 'opslab');
    await run(a, 'hostname opslab');
  });

  // Not an attack that fails either: lessons build bridges and veths in the sandbox's network namespace. None may appear on the host.
  test('root creates network devices in its own network namespace only: the host has none of them', async () => {
    await requireTools(a, ['ip']);
    const result = await run(a, 'ip link add opslabx0 type bridge && ip link add opslabv0 type veth peer name opslabv1 && ip -o link');
    assert.equal(result.code, 0, result.output);
    for (const link of ['opslabx0', 'opslabv0', 'opslabv1']) {
      assert.match(result.output, new RegExp(`^\\d+: ${link}[@:]`, 'm'));
      assert.throws(() => execFileSync('ip', ['link', 'show', link], { stdio: 'pipe' }), new RegExp(`Device "${link}" does not exist`), `${link} exists on the host`);
    }
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
      await requireTools(granted, ['ip', 'mknod']);
      const result = await run(granted, 'ip tuntap add dev opslabtap0 mode tap && ip link set opslabtap0 up && ip -o link show opslabtap0');
      assert.equal(result.code, 0, result.output);
      assert.throws(() => execFileSync('ip', ['link', 'show', 'opslabtap0'], { stdio: 'pipe' }), /Device "opslabtap0" does not exist/, 'the tap device exists on the host');
      // The granted device is bound in; making another node still needs CAP_MKNOD over the host's user namespace.
      expectOutput((await run(granted, 'mknod /tmp/tun2 c 10 200')).output, ['mknod: /tmp/tun2: Operation not permitted'], 'a device node was made');
    } finally {
      await granted.destroy();
    }
  });

  // Each sandbox has its own pid namespace, tmpfs mounts and devpts (the terminals' ptys are the host's, in none of them).
  test('see another sandbox\'s processes, files or terminal', async () => {
    // b really has them (a test that found nothing because nothing was there would prove nothing).
    const terminal = b.spawnPty({ cols: 80, rows: 24 });
    try {
      const setup = await run(b, 'echo b-secret > /tmp/b-secret; echo b-home > /root/b-home; (setsid sleep 4242 >/dev/null 2>&1 &); sleep 0.2; pgrep -f "sleep 424[2]" && cat /tmp/b-secret /root/b-home');
      assert.equal(setup.code, 0, setup.output);
      const pty = terminal.path; // b's terminal, as the host sees it: /dev/pts/N
      assert.match(pty, /^\/dev\/pts\/\d+$/);
      await requireTools(a, ['pgrep', 'ls']);
      const result = await run(a, `pgrep -f "sleep 424[2]"; echo "pgrep: $?"; ls /tmp/b-secret /root/b-home; ls /proc/*/root/tmp/b-secret; ls ${pty}; echo "ptys:" $(ls /dev/pts)`);
      expectOutput(result.output, [
        /^pgrep: 1$/m, // no process matched
        "ls: cannot access '/tmp/b-secret': No such file or directory",
        "ls: cannot access '/root/b-home': No such file or directory",
        "ls: cannot access '/proc/*/root/tmp/b-secret': No such file or directory",
        `ls: cannot access '${pty}': No such file or directory`,
        /^ptys: ptmx$/m,
      ], 'another sandbox is visible');
    } finally {
      terminal.kill();
    }
  });

  test('symlinks in lesson files are copied as links and resolve inside the sandbox only', async () => {
    const source = mkdtempSync(join(tmpdir(), 'opslab-symlink-lesson-'));
    try {
      mkdirSync(join(source, 'files'));
      mkdirSync(join(source, 'steps/s'), { recursive: true });
      writeFileSync(join(source, 'index.mdx'), '---\ntitle: T\nsummary: S\nduration: 1\norder: 1\n---\n<Step id="s" title="S">\n</Step>\n');
      writeFileSync(join(source, 'steps/s/check.sh'), 'exit 0\n');
      writeFileSync(join(source, 'steps/s/solve.sh'), 'exit 0\n');
      const secret = join(hostSecretDir, 'secret');
      symlinkSync(secret, join(source, 'files/secret-link'));
      symlinkSync('/', join(source, 'files/host-root'));
      const staged = stageLesson(loadLesson(source, 'symlinks'), server.config.stagingDir);
      const sandbox = await create(small, staged);
      try {
        await requireTools(sandbox, ['cp', 'readlink', 'cat', 'ls']);
        const result = await run(sandbox, `cp -RP --preserve=mode,timestamps /opt/opslab/lesson/files/. /root/ && readlink /root/secret-link && cat /root/secret-link; ls -d /root/host-root${projectRoot}; cat /opt/opslab/lesson/files/secret-link`);
        // The links are links, pointing where they did on the host; there, in the sandbox, nothing is.
        expectOutput(result.output, [
          new RegExp(`^${secret}$`, 'm'),
          `cat: /root/secret-link: No such file or directory`,
          `ls: cannot access '/root/host-root${projectRoot}': No such file or directory`,
          `cat: /opt/opslab/lesson/files/secret-link: No such file or directory`,
        ], 'a lesson symlink reached a host file');
      } finally {
        await sandbox.destroy();
      }
    } finally {
      rmSync(source, { recursive: true, force: true });
    }
  });

  test('fill the disk: every writable tmpfs is capped', async () => {
    await requireTools(a, ['dd']);
    const dirs = ['/tmp', '/root', '/var', '/run'];
    const result = await run(a, dirs.map((d) => `dd if=/dev/zero of=${d}/fill bs=1M count=400; rm -f ${d}/fill`).join('\n'));
    // Each cap is below 400 MiB and below the memory limit (tmpfs pages are charged to it): the tmpfs fills, nothing is killed.
    expectOutput(result.output, dirs.map((d) => `dd: error writing '${d}/fill': No space left on device`), 'a tmpfs took 400 MiB');
  });

  test('exhaust memory: the OOM killer acts inside the sandbox only', async () => {
    const hog = await create();
    try {
      await requireTools(hog, ['python3']);
      const result = await run(hog, 'python3 -c "b = bytearray(2 * 1024**3); print(\'allocated\')"');
      // Filling 2 GiB (bytearray zeroes its memory) runs into the 512 MiB limit: the cgroup's OOM killer
      // SIGKILLs python; timeout and nsenter die of the same signal, so the exec has no exit code.
      assert.equal(result.code, null, `not killed by a signal: ${result.output}`);
      assert.equal(result.timedOut, false, 'the exec timed out instead');
      assert.doesNotMatch(result.output, /allocated/);
      assert.ok((hog.stats()?.oomKills ?? 0) >= 1, `the sandbox's cgroup counted no OOM kill: ${result.output}`);
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
      // It really went off, up to the limit (give or take processes dying and forking again; a busy machine may take longer)…
      for (let i = 0; i < 40 && bomb.stats()!.pids < small.pids * 0.9; i++) await sleep(100);
      const { pids } = bomb.stats()!;
      assert.ok(pids >= small.pids * 0.9, `the bomb did not reach the limit: pids ${pids}`);
      // …and the limit held.
      assert.ok(pids <= small.pids, `pids ${pids} > ${small.pids}`);
      assert.equal((await run(b, 'echo answering')).output.trim(), 'answering');
    } finally {
      await bomb.destroy();
    }
    assert.deepEqual(processesWhere((uid) => uid === bomb.uid), []);
  });

  // A room arriving: starts yield the cores to whoever already types (decisions §23).
  test('a sandbox starts at a low CPU weight; its first terminal gives it its full weight', async () => {
    const starting = await create();
    try {
      assert.equal(starting.stats()!.cpuShares, STARTING_CPU_SHARES);
      const pty = starting.spawnPty({ cols: 80, rows: 24 });
      for (let i = 0; i < 100 && starting.stats()!.cpuShares !== small.cpuShares; i++) await sleep(50); // written asynchronously
      assert.equal(starting.stats()!.cpuShares, small.cpuShares);
      assert.ok(STARTING_CPU_SHARES < small.cpuShares);
      pty.destroy();
    } finally {
      await starting.destroy();
    }
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
