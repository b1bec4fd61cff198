/**
 * Cgroups against the kernel's real cgroup v1 tree: many sandboxes' groups created at once (the
 * writes run on libuv's threads, in any order across groups) each get exactly their limits.
 */
import assert from 'node:assert/strict';
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
