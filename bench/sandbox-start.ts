/**
 * What a sandbox start and an exec in it cost, beside what the machine itself costs for the same
 * kind of work, measured in the same run through the same spawner (so figures from different
 * machines compare as ratios): a fork+exec of a static binary, and a bare
 * `bwrap --unshare-all … true` (no cgroups, no seccomp, no uid drop, no lesson, no checker's view).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultProfiles } from '../sandbox-server/src/config.ts';
import { createBwrapBackend } from '../sandbox-server/src/sandbox/create-backend.ts';
import { spawnerPath } from '../sandbox-server/src/sandbox/native.ts';
import { Spawner } from '../sandbox-server/src/sandbox/spawner.ts';
import { machineBusyMs } from './server.ts';

export interface StartCost {
  /** Fork+exec of a static binary, through the spawner. */
  staticExec: number[];
  /** A bare bwrap --unshare-all start of `true`, through the spawner. */
  bareBwrap: number[];
  /** Machine CPU (all processes) per bare bwrap start, in ms. */
  bareBwrapCpuMs: number;
  /** A sandbox as the server makes it: cgroups, uid, seccomp, lesson binds, the checker's view. */
  create: number[];
  /** `true` run in such a sandbox (its namespaces, cgroups and filter). */
  exec: number[];
}

const BARE_BWRAP = ['bwrap', '--unshare-all', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin', '--proc', '/proc', '--dev', '/dev', '--', '/usr/bin/true'];

/** The spawner's round trip for `argv`, in ms; fails unless the program succeeded. */
async function timed(spawner: Spawner, argv: string[]): Promise<number> {
  const started = performance.now();
  const exit = await spawner.run({ argv, env: { PATH: '/usr/bin:/bin' }, output: 'none' }).exited;
  if (exit.code !== 0) throw new Error(`${argv[0]} failed: ${exit.error || exit.code}`);
  return performance.now() - started;
}

/** `iterations` bare bwrap starts (after three to warm the page cache): their times and the machine CPU each cost. */
async function bareBwrapStarts(spawner: Spawner, iterations: number): Promise<{ samples: number[]; cpuMs: number }> {
  for (let i = 0; i < 3; i++) await timed(spawner, BARE_BWRAP);
  const samples: number[] = [];
  const busyBefore = machineBusyMs();
  for (let i = 0; i < iterations; i++) samples.push(await timed(spawner, BARE_BWRAP));
  return { samples, cpuMs: (machineBusyMs() - busyBefore) / iterations };
}

/** Machine CPU (all processes, all cores) per bare bwrap start, in ms: the burst rows' floor. */
export async function measureBareBwrapCpu(iterations: number): Promise<number> {
  const spawner = new Spawner(spawnerPath());
  try {
    return (await bareBwrapStarts(spawner, iterations)).cpuMs;
  } finally {
    await spawner.close();
  }
}

export async function measureStartCost(iterations: number, lessonDir: string): Promise<StartCost> {
  const work = mkdtempSync(join(tmpdir(), 'opslab-bench-start-'));
  chmodSync(work, 0o755);
  const staticTrue = join(work, 'true');
  writeFileSync(`${staticTrue}.c`, 'int main(void) { return 0; }\n');
  execFileSync('gcc', ['-O2', '-static', '-o', staticTrue, `${staticTrue}.c`]);
  const spawner = new Spawner(spawnerPath());
  const backend = createBwrapBackend({ uidBase: 740_000, uidCount: 100, stagingDir: join(work, 'staging'), devUnlimited: false, machineTurns: { slots: 1, seconds: 60 } });
  const cost: StartCost = { staticExec: [], bareBwrap: [], bareBwrapCpuMs: 0, create: [], exec: [] };
  try {
    const bare = await bareBwrapStarts(spawner, iterations);
    cost.bareBwrap = bare.samples;
    cost.bareBwrapCpuMs = bare.cpuMs;
    for (let i = 0; i < iterations; i++) {
      cost.staticExec.push(await timed(spawner, [staticTrue]));
      let started = performance.now();
      const sandbox = await backend.create({ id: `bench-${i}`, lessonDir, ...defaultProfiles.small });
      cost.create.push(performance.now() - started);
      started = performance.now();
      await sandbox.exec(['true'], { timeoutMs: 5000 });
      cost.exec.push(performance.now() - started);
      await sandbox.destroy();
    }
  } finally {
    await backend.destroyAll();
    await spawner.close();
    rmSync(work, { recursive: true, force: true });
  }
  return cost;
}
