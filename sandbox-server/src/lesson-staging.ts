/**
 * Copies a lesson's runtime files (setup.sh, steps/, files/, bin/) to a root-owned, world-readable
 * staging folder that the sandbox mounts read-only. Sandbox uids cannot read the project checkout
 * (it may live under a 0700 home), and a copy taken at start cannot change under a running sandbox.
 * Symlinks are copied as symlinks, never followed: they resolve inside the sandbox's own view.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Lesson } from '../../src/lessons/catalog.ts';

const RUNTIME_ENTRIES = ['setup.sh', 'steps', 'files', 'bin'];

export function stageLesson(lesson: Lesson, stagingRoot: string): string {
  mkdirSync(stagingRoot, { recursive: true, mode: 0o755 });
  chmodSync(stagingRoot, 0o755);
  const target = join(stagingRoot, lesson.slug);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { mode: 0o755 });
  for (const entry of RUNTIME_ENTRIES) {
    const source = join(lesson.dir, entry);
    if (existsSync(source)) cpSync(source, join(target, entry), { recursive: true, dereference: false, verbatimSymlinks: true, preserveTimestamps: true });
  }
  return target;
}
