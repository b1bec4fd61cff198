/**
 * What the hardening costs at sandbox start: the same bubblewrap sandbox created (and a command
 * run in it) with the full launcher — cgroups created and joined, seccomp filter, descriptors
 * closed — and without it (no cgroups; a shell passthrough instead of sandbox-exec), interleaved.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stagePlatform } from '../sandbox-server/src/lesson-staging.ts';
import { defaultProfiles } from '../sandbox-server/src/config.ts';
import { BwrapBackend, defaultTmpfsBytes } from '../sandbox-server/src/sandbox/bwrap.ts';
import { Cgroups } from '../sandbox-server/src/sandbox/cgroups.ts';
import { sandboxExecPath } from '../sandbox-server/src/sandbox/native.ts';

export interface StartCost {
  hardenedCreate: number[];
  plainCreate: number[];
  hardenedExec: number[];
  plainExec: number[];
}

export async function measureStartCost(iterations: number, lessonDir: string): Promise<StartCost> {
  const work = mkdtempSync(join(tmpdir(), 'opslab-bench-start-'));
  chmodSync(work, 0o755);
  // Skips sandbox-exec's options and execs the rest: the launcher's shape without its work. The
  // checker's view has no shape without sandbox-exec: that one runs it, only without cgroups.
  const passthrough = join(work, 'passthrough');
  writeFileSync(
    passthrough,
    [
      '#!/bin/sh',
      'case " $* " in *" --check-view "*)',
      '  for a; do shift; if [ -n "$skip" ]; then skip=; continue; fi; if [ "$a" = --cgroup ]; then skip=1; continue; fi; set -- "$@" "$a"; done',
      `  exec ${sandboxExecPath()} "$@";;`,
      'esac',
      'while [ "$1" != "--" ]; do shift; done',
      'shift',
      'exec "$@"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const platformDir = stagePlatform(join(work, 'staging'));
  const common = { uidCount: 100, platformDir, tmpfsBytes: defaultTmpfsBytes };
  const cgroups = new Cgroups('740000');
  const hardened = new BwrapBackend({ ...common, uidBase: 740_000, sandboxExec: sandboxExecPath(), cgroups });
  const plain = new BwrapBackend({ ...common, uidBase: 740_100, sandboxExec: passthrough, cgroups: undefined });
  const cost: StartCost = { hardenedCreate: [], plainCreate: [], hardenedExec: [], plainExec: [] };
  try {
    for (let i = 0; i < iterations; i++) {
      for (const [backend, create, exec] of [
        [hardened, cost.hardenedCreate, cost.hardenedExec],
        [plain, cost.plainCreate, cost.plainExec],
      ] as const) {
        let started = performance.now();
        const sandbox = await backend.create({ id: `bench-${i}`, lessonDir, ...defaultProfiles.small });
        create.push(performance.now() - started);
        started = performance.now();
        await sandbox.exec(['true'], { timeoutMs: 5000 });
        exec.push(performance.now() - started);
        await sandbox.destroy();
      }
    }
  } finally {
    await hardened.destroyAll();
    await plain.destroyAll();
    rmSync(work, { recursive: true, force: true });
  }
  return cost;
}
