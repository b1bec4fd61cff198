/**
 * Cgroups against the kernel's real cgroup v1 tree: many sandboxes' groups created at once (the
 * writes run on libuv's threads, in any order across groups) each get exactly their limits.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Cgroups, STARTING_CPU_SHARES } from './cgroups.ts';

test('forty groups created at once each get their limits, the starting CPU weight, then the full one', async () => {
  const cgroups = new Cgroups(`unit-${process.pid}`);
  const names = Array.from({ length: 40 }, (_, i) => `u${i}`);
  const limits = (i: number) => ({ memoryBytes: (256 + i) * 1024 * 1024, pids: 100 + i, cpuPercent: 50, cpuShares: 1024 });
  try {
    const procs = await Promise.all(names.map((name, i) => cgroups.create(name, limits(i))));
    for (const [i, files] of procs.entries()) {
      const dir = (controller: string) => files.find((file) => file.includes(`/${controller}/`))!.replace(/\/cgroup\.procs$/, '');
      const read = (controller: string, file: string) => Number(readFileSync(join(dir(controller), file), 'utf8'));
      assert.equal(read('memory', 'memory.limit_in_bytes'), limits(i).memoryBytes);
      try {
        assert.equal(read('memory', 'memory.memsw.limit_in_bytes'), limits(i).memoryBytes);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // a kernel without swap accounting
      }
      assert.equal(read('pids', 'pids.max'), limits(i).pids);
      assert.equal(read('cpu', 'cpu.cfs_quota_us'), 50_000);
      assert.equal(cgroups.stats(names[i]!).cpuShares, STARTING_CPU_SHARES);
    }
    await cgroups.attended(names[0]!, limits(0));
    assert.equal(cgroups.stats(names[0]!).cpuShares, 1024);
  } finally {
    for (const name of names) await cgroups.remove(name);
    assert.deepEqual(cgroups.list(), []);
    await cgroups.dispose();
  }
});

test('the CPU a sandbox\'s process uses is charged to its server, and stays charged after it ends', async () => {
  const cgroups = new Cgroups(`unit-cpu-${process.pid}`);
  try {
    const before = cgroups.chargedCpuSeconds();
    assert.notEqual(before, undefined, 'this kernel has cpuacct (the CI machine does)');
    const joins = await cgroups.create('busy', { memoryBytes: 256 * 1024 * 1024, pids: 10, cpuPercent: 100, cpuShares: 1024 });
    // A shell that joins the groups as a sandbox's process does, works a fixed amount, then prints
    // its own CPU time (utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks).
    const script = `${joins.map((file) => `echo $$ > ${file}`).join(' && ')} && i=0 && while [ $i -lt 300000 ]; do i=$((i+1)); done && cat /proc/$$/stat && getconf CLK_TCK`;
    const shell = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
    assert.equal(shell.status, 0, shell.stderr);
    const [stat, ticks] = shell.stdout.trim().split('\n');
    const fields = stat!.slice(stat!.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": field 3 onwards
    const ownSeconds = (Number(fields[11]) + Number(fields[12])) / Number(ticks);
    assert.ok(ownSeconds > 0, 'the loop used CPU');
    const charged = cgroups.chargedCpuSeconds()! - before!;
    // The count is in nanoseconds, the shell's own in ticks: a tick's rounding either way.
    assert.ok(charged >= ownSeconds - 2 / Number(ticks), `charged ${charged} s, the shell used ${ownSeconds} s`);
    const after = cgroups.chargedCpuSeconds()!;
    await cgroups.remove('busy');
    assert.ok(cgroups.chargedCpuSeconds()! >= after, 'an ended sandbox\'s CPU stays counted');
  } finally {
    await cgroups.remove('busy');
    await cgroups.dispose();
  }
});
