/**
 * PtyInput against real ptys (a local sh/sleep started by the spawner, as sandbox shells are):
 * input arrives, a program that does not read gets a bounded backlog, and input queued when the pty
 * dies never lands in whatever the process opens next under the same fd number (the node-pty bug
 * this module exists for).
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PtyInput } from './pty-input.ts';
import { spawnerPath } from './sandbox/native.ts';
import { Pty } from './sandbox/pty.ts';
import { Spawner } from './sandbox/spawner.ts';

const spawner = new Spawner(spawnerPath());
after(() => spawner.close());

function spawn(program: string, args: string[], size: { cols: number; rows: number }): Pty {
  const pty = new Pty(size.cols, size.rows);
  pty.run(spawner.run({ argv: [program, ...args], env: { PATH: '/usr/bin:/bin' }, pty: pty.path, output: 'none' }));
  return pty;
}

const exited = (pty: Pty) => new Promise<void>((resolve) => pty.onExit(() => resolve()));

test('input reaches the program in the pty, in order', async () => {
  // No echo, so the output is cat's copy alone (the line discipline's echo would interleave with it).
  const pty = spawn('/bin/sh', ['-c', 'stty -echo; echo ready; exec cat'], { cols: 80, rows: 24 });
  let output = '';
  pty.onData((data) => (output += data));
  const until = async (done: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };
  await until(() => output.includes('ready'));
  const input = new PtyInput(pty, 1024 * 1024);
  for (let i = 0; i < 50; i++) assert.equal(input.write(Buffer.from(`line-${i}\n`)), true);
  await until(() => output.includes('line-49'));
  pty.kill('SIGKILL');
  await exited(pty);
  const lines = output.split('\r\n').filter((line) => line.startsWith('line-'));
  assert.deepEqual(lines, Array.from({ length: 50 }, (_, i) => `line-${i}`));
});

test('a program that does not read: the backlog stops at its bound and input is refused, not buffered without end', async () => {
  const pty = spawn('/bin/sleep', ['30'], { cols: 80, rows: 24 });
  const input = new PtyInput(pty, 256 * 1024);
  const chunk = Buffer.alloc(32 * 1024, 0x61);
  let accepted = 0;
  for (let i = 0; i < 20; i++) if (input.write(chunk)) accepted++;
  assert.ok(accepted >= 8 && accepted < 20, `${accepted} of 20 chunks accepted`);
  assert.ok(input.backlog <= 256 * 1024, `backlog ${input.backlog}`);
  pty.kill('SIGKILL');
  await exited(pty);
  assert.equal(input.write(chunk), false, 'nothing is queued once the pty is gone');
  assert.equal(input.backlog, 0);
});

test('input still queued when the pty dies never lands in a file opened afterwards under the same fd number', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opslab-pty-input-'));
  try {
    for (let round = 0; round < 5; round++) {
      const pty = spawn('/bin/sleep', ['30'], { cols: 80, rows: 24 });
      const input = new PtyInput(pty, 1024 * 1024);
      for (let i = 0; i < 16; i++) input.write(Buffer.alloc(32 * 1024, 0x61)); // most of it waits (EAGAIN)
      assert.ok(input.backlog > 0, 'input is waiting for the program');
      pty.kill('SIGKILL');
      await exited(pty);
      // The master fd is closed now: take the lowest free fd numbers, as a new socket would.
      const files = Array.from({ length: 8 }, (_, i) => join(dir, `r${round}-${i}`));
      const fds = files.map((file) => openSync(file, 'w'));
      await new Promise((r) => setTimeout(r, 200)); // long enough for any retry loop to run again
      fds.forEach((fd) => closeSync(fd));
      for (const file of files) assert.equal(readFileSync(file).length, 0, `${file} received input meant for the dead pty`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
