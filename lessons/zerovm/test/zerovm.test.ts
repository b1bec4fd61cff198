/**
 * The zerovm runtime, for real: its manifest parser against valid and invalid manifests in
 * ZeroVM's format, and its seccomp policy against a probe that makes one system call per run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const native = join(import.meta.dirname, '../native');
const zerovm = join(native, 'build/zerovm');
let dir: string;
let probe: string;

before(() => {
  execFileSync('make', ['-s', '-C', native]);
  dir = mkdtempSync(join(tmpdir(), 'opslab-zerovm-'));
  probe = join(dir, 'probe.nexe');
  execFileSync('gcc', ['-O2', '-static', '-o', probe, join(import.meta.dirname, 'probe.c')]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(manifestText: string, args: string[] = [], input = '') {
  const manifest = join(dir, `m-${Math.random().toString(36).slice(2)}.manifest`);
  writeFileSync(manifest, manifestText);
  const journal = join(dir, 'journal.jsonl');
  rmSync(journal, { force: true });
  const result = spawnSync(zerovm, ['--journal', journal, ...args, manifest], { input, cwd: dir, encoding: 'utf8' });
  let last: Record<string, unknown> | undefined;
  try {
    last = JSON.parse(readFileSync(journal, 'utf8').trim().split('\n').at(-1)!);
  } catch {
    // no run recorded (a manifest error stops before the run)
  }
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, journal: last };
}

// Timeout is wall-clock time from the program's start: a safety net far beyond the milliseconds
// these programs need, so that no result depends on how busy the machine is (the test of Timeout
// itself runs a program that never ends).
const head = (program: string, timeout = 300) => `Version = 20130611\nProgram = ${program}\nTimeout = ${timeout}\nMemory = 33554432, 0\n`;
const std = 'Channel = /dev/stdin, /dev/stdin, 0, 0, 10, 64, 0, 0\nChannel = /dev/stdout, /dev/stdout, 0, 0, 0, 0, 10, 4096\n';

describe('zerovm manifest parser', () => {
  const nexe = () => join(native, 'build/hello.nexe');
  // Manifests as ZeroVM's docs and zvsh wrote them (paths replaced by this machine's).
  const valid: Record<string, () => string> = {
    'the zerovm-docs example (5 channels, 4 GiB memory)': () =>
      `Version = 20130611\nTimeout = 50\nMemory = 4294967296,0\nProgram = ${nexe()}\nChannel = /dev/stdin,/dev/stdin,0,0,8192,8192,0,0\nChannel = /dev/stdout,/dev/stdout,0,0,0,0,8192,8192\nChannel = /dev/stderr,/dev/stderr,0,0,0,0,8192,8192\nChannel = /tmp/python.tar,/dev/1.python.tar,3,0,8192,8192,8192,8192\nChannel = /tmp/nvram.1,/dev/nvram,3,0,8192,8192,8192,8192\n`,
    "zvsh's default, with Node first": () =>
      `Node = 1\nVersion = 20130611\nTimeout = 50\nMemory = 4294967296,0\nProgram = ${nexe()}\nChannel = /dev/stdin,/dev/stdin,0,0,4294967296,4294967296,0,0\n`,
    'spaces around values, CRLF line ends, a hex Memory, NameServer and Job': () =>
      `Version = 20130611\r\nProgram = ${nexe()}\r\nTimeout = 5\r\nMemory = 0x100000000, 0\r\nNameServer = udp:127.0.0.1:54321\r\nJob = /tmp/job\r\nChannel = /dev/null, /dev/stdin, 0, 0, 999999, 999999, 0, 0\r\n`,
  };
  for (const [name, text] of Object.entries(valid)) {
    test(`valid: ${name}`, () => {
      const result = run(text(), ['--validate']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /valid \(\d+ channels/);
    });
  }

  const invalid: Array<[string, () => string, RegExp]> = [
    ['no Version', () => `Program = ${nexe()}\nTimeout = 1\nMemory = 16777216, 0\n${std}`, /"Version" is required/],
    ['the 2012 format version', () => head(nexe()).replace('20130611', '09082012') + std, /:1: Version: this runtime reads manifest version 20130611, got "09082012"/],
    ['a key in the wrong case', () => head(nexe()).replace('Program', 'program') + std, /warning: unknown key "program"[\s\S]*"Program" is required.*unknown keys seen: program/],
    ['a Channel in the 7-value format of 2012', () => head(nexe()) + 'Channel = /dev/null, /dev/stdin, 0, 0, 0, 0, 0\n', /:5: Channel: needs 8 comma-separated values .* found 7/],
    ['an access type of 5', () => head(nexe()) + 'Channel = /dev/null, /dev/stdin, 5, 0, 1, 1, 0, 0\n', /:5: Channel: type \(3rd value\) must be 0 .* got "5"/],
    ['a negative gets limit', () => head(nexe()) + 'Channel = /dev/null, /dev/stdin, 0, 0, -1, 1, 0, 0\n', /:5: Channel: gets \(value 5\) must be a non-negative integer, got "-1"/],
    ['an alias used twice', () => head(nexe()) + std + 'Channel = /dev/null, /dev/stdin, 0, 0, 1, 1, 0, 0\n', /:7: Channel: alias \/dev\/stdin is already used on line 5/],
    ['an alias outside /dev', () => head(nexe()) + 'Channel = /dev/null, stdin, 0, 0, 1, 1, 0, 0\n', /:5: Channel: the alias .* must be a device name like \/dev\/stdin, got "stdin"/],
    ['Timeout 0', () => head(nexe(), 0) + std, /:3: Timeout: must be whole seconds, 1..2147483647, got "0"/],
    ['Memory without its etag', () => head(nexe()).replace('33554432, 0', '33554432') + std, /:4: Memory: needs 2 values: bytes, etag/],
    ['two = on a line', () => head(nexe()) + 'Node = a = b\n' + std, /:5: Node: exactly one '=' per line/],
    ['a line without =', () => head(nexe()) + 'Channel /dev/null\n' + std, /:5: Channel \/dev\/null: a line must be "key = value"/],
    ['an empty value', () => head(nexe()) + 'Node =\n' + std, /:5: Node: the value is empty/],
    ['a value over 8 KB', () => head(nexe()) + `Node = ${'x'.repeat(9000)}\n` + std, /:5: Node: keys and values are limited to 8192 bytes/],
    ['a manifest over 512 KB', () => head(nexe()) + std + `# ${'x'.repeat(530_000)}\n`, /larger than 524288 bytes/],
    ['no Channel at all', () => head(nexe()), /"Channel" is required/],
    ['a Program that does not exist', () => head('/nowhere/x.nexe') + std, /Program \/nowhere\/x.nexe: No such file or directory/],
  ];
  for (const [name, text, error] of invalid) {
    test(`invalid: ${name}`, () => {
      const result = run(text(), ['--validate']);
      assert.equal(result.code, 2, `accepted: ${result.stdout}`);
      assert.match(result.stderr, error);
    });
  }

  test('a channel that cannot be opened is reported with its line before anything runs', () => {
    const result = run(head(nexe()) + 'Channel = /nowhere/in.txt, /dev/stdin, 0, 0, 1, 100, 0, 0\n');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /:5: Channel \/dev\/stdin: cannot open \/nowhere\/in.txt: No such file or directory/);
    assert.equal(result.journal, undefined);
  });
});

describe('zerovm seccomp policy', () => {
  const manifest = () => head(probe) + std;

  // Each is a call no ZeroVM program could make: the runtime must kill the probe and name the call.
  const forbidden: Array<[string, string, RegExp?]> = [
    ['openat', 'openat', /"\/etc\/passwd"/], ['socket', 'socket', /AF_INET, SOCK_STREAM/], ['execve', 'execve', /"\/bin\/true"/],
    ['clone', 'clone'], ['kill', 'kill'], ['ptrace', 'ptrace'], ['mount', 'mount'], ['unshare', 'unshare'],
    ['chdir', 'chdir', /"\/"/], ['getpid', 'getpid'], ['uname', 'uname'], ['mkdir', 'mkdir', /"\/tmp\/x"/],
    ['unlink', 'unlink', /"\/tmp\/x"/], ['ioctl', 'ioctl'], ['setuid', 'setuid'], ['dup', 'dup'], ['nanosleep', 'nanosleep'],
    ['prlimit64-set', 'prlimit64'], ['read-other-fd', 'read', /descriptor 5, which is no channel/],
  ];
  for (const [word, call, detail] of forbidden) {
    test(`forbidden: ${word} kills the program and is named`, () => {
      const result = run(manifest(), [], `${word}\n`);
      assert.equal(result.code, 137, result.stderr);
      assert.match(result.stderr, new RegExp(`killed: the program called ${call}\\(`));
      assert.equal(result.journal?.state, 'killed');
      assert.equal(result.journal?.call, call);
      if (detail) assert.match(String(result.journal?.detail), detail);
    });
  }

  const allowed = ['brk', 'mmap', 'getrandom', 'prlimit64-get', 'set_tid_address', 'arch_prctl', 'sysinfo', 'readlink', 'close', 'write', 'exit'];
  for (const word of allowed) {
    test(`allowed: ${word} works`, () => {
      const result = run(manifest(), [], `${word}\n`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.journal?.state, 'ok');
    });
  }

  test('quotas: a write past put_size fails with EDQUOT and is recorded', () => {
    const result = run(head(probe) + 'Channel = /dev/stdin, /dev/stdin, 0, 0, 10, 64, 0, 0\nChannel = /dev/stdout, /dev/stdout, 0, 0, 0, 0, 10, 2\n', [], 'write\n');
    assert.equal(result.code, 1);
    assert.equal(result.journal?.state, 'quota');
    assert.match(String(result.journal?.detail), /\/dev\/stdout: put_size exceeded \(limit 2, used 0, tried 3 more\)/);
  });

  test('quotas: gets are counted; the second read is refused', () => {
    const result = run(head(probe) + 'Channel = /dev/stdin, /dev/stdin, 0, 0, 1, 64, 0, 0\n', [], 'brk\n');
    assert.equal(result.journal?.state, 'ok'); // the probe reads once: within gets = 1
    const channels = result.journal?.channels as Array<{ alias: string; gets: number; get_size: number }>;
    assert.deepEqual(channels.map((c) => [c.alias, c.gets, c.get_size]), [['/dev/stdin', 1, 4]]);
  });

  test('Timeout stops a program that runs too long', () => {
    const spin = join(dir, 'spin.nexe');
    writeFileSync(join(dir, 'spin.c'), 'int main(void) { for (;;) {} }\n');
    execFileSync('gcc', ['-O0', '-static', '-o', spin, join(dir, 'spin.c')]);
    const result = run(head(spin, 1) + std);
    assert.equal(result.journal?.state, 'timeout');
    assert.match(result.stderr, /Timeout = 1 s exceeded/);
  });

  test('Memory bounds the address space', () => {
    const hog = join(dir, 'hog.nexe');
    writeFileSync(join(dir, 'hog.c'), '#include <stdlib.h>\n#include <string.h>\nint main(void) { char *p = malloc(64 << 20); if (!p) return 42; memset(p, 1, 64 << 20); return 0; }\n');
    execFileSync('gcc', ['-O0', '-static', '-o', hog, join(dir, 'hog.c')]);
    const result = run(head(hog).replace('33554432', '16777216') + std);
    assert.equal(result.code, 42, 'malloc of 64 MiB must fail under Memory = 16 MiB');
  });

  test('the program gets its channels as its only descriptors', async () => {
    const spin = join(dir, 'spin-fds.nexe');
    writeFileSync(join(dir, 'spin-fds.c'), 'int main(void) { for (;;) {} }\n');
    execFileSync('gcc', ['-O0', '-static', '-o', spin, join(dir, 'spin-fds.c')]);
    const manifest = join(dir, 'fds.manifest');
    // The program spins until the test has seen it and stops it (its Timeout is only a safety net):
    // however long zerovm takes to start it, it is there to be looked at.
    writeFileSync(manifest, head(spin, 600) + std + 'Channel = /dev/null, /dev/input, 0, 0, 1, 1, 0, 0\n');
    const child = spawn(zerovm, ['--journal', join(dir, 'fds.jsonl'), manifest], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise((r) => child.once('exit', r));
    let zerovmExited = false;
    void exited.then(() => (zerovmExited = true));
    let seen: { pid: number; fds: string[] } | undefined;
    try {
      const deadline = Date.now() + 10 * 60_000;
      while (!seen) {
        const exitedBefore = zerovmExited;
        for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
          try {
            if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(spin)) seen = { pid: Number(pid), fds: readdirSync(`/proc/${pid}/fd`).sort() };
          } catch {
            // gone meanwhile
          }
        }
        if (seen) break;
        assert.ok(!exitedBefore, 'zerovm exited before its program was seen');
        assert.ok(Date.now() < deadline, 'the program did not start within 10 min');
        await sleep(10);
      }
    } finally {
      try {
        if (seen) process.kill(seen.pid, 'SIGKILL');
      } catch {
        // ended already
      }
      child.kill('SIGKILL');
      await exited;
    }
    assert.deepEqual(seen.fds, ['0', '1', '3'], 'stdin, stdout and /dev/input, nothing else');
  });
});
