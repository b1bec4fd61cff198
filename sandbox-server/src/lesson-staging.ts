/**
 * Copies the platform's sandbox files (bashrc, sudo/su shims) and each lesson's runtime files (setup.sh, steps/, files/, bin/) to a root-owned, world-readable
 * staging folder that the sandbox mounts read-only. Sandbox uids cannot read the project checkout
 * (it may live under a 0700 home), and a copy taken at start cannot change under a running sandbox.
 * Symlinks are copied as symlinks, never followed: they resolve inside the sandbox's own view.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Lesson } from '../../lesson-model/catalog.ts';
import { projectRoot } from './config.ts';

const LESSON_ENTRIES = ['setup.sh', 'steps', 'files', 'bin', 'lib', 'native/build'];
const PLATFORM_DIR = join(projectRoot, 'sandbox-server/sandbox-files');

/** Replaces `target` with a copy of the named entries of `source` (those that exist). */
function stage(source: string, entries: string[], target: string): string {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true, mode: 0o755 });
  chmodSync(target, 0o755);
  for (const entry of entries) {
    const from = join(source, entry);
    if (existsSync(from)) cpSync(from, join(target, entry), { recursive: true, dereference: false, verbatimSymlinks: true, preserveTimestamps: true });
  }
  return target;
}

function ensureRoot(stagingRoot: string): void {
  mkdirSync(stagingRoot, { recursive: true, mode: 0o755 });
  chmodSync(stagingRoot, 0o755);
}

/**
 * A lesson may ship C sources with a Makefile in native/ (programs it runs in the sandbox): they
 * are built on the host into native/build/, which is staged with the rest. make makes this a
 * no-op when the build is fresh; scripts/setup.sh builds them ahead.
 */
function buildNative(lesson: Lesson): void {
  const dir = join(lesson.dir, 'native');
  if (!existsSync(join(dir, 'Makefile'))) return;
  try {
    execFileSync('make', ['-s', '-C', dir], { stdio: 'pipe' });
  } catch (error) {
    const output = `${(error as { stdout?: Buffer }).stdout ?? ''}${(error as { stderr?: Buffer }).stderr ?? ''}`.trim();
    throw new Error(`lessons/${lesson.slug}/native: the build failed (needs gcc, make, libseccomp-dev: run scripts/setup.sh):\n${output}`);
  }
}

/**
 * Brings a staged lesson up to date in place (`npm run dev`, on an author's edit): files are
 * overwritten and stray ones removed inside the same folder, which running sandboxes have mounted —
 * a new folder would not reach them. The next Check runs the edited check.sh.
 */
export function restageLesson(lesson: Lesson, stagingRoot: string): string {
  buildNative(lesson);
  const target = join(stagingRoot, 'lessons', lesson.slug);
  if (!existsSync(target)) return stageLesson(lesson, stagingRoot);
  const wanted = new Set<string>();
  for (const entry of LESSON_ENTRIES) {
    const from = join(lesson.dir, entry);
    if (!existsSync(from)) continue;
    // cpSync follows a symlink already at the destination (one that resolves only inside the
    // sandbox fails), and cannot turn a file into a folder: such paths are removed first.
    const paths = listTree(from);
    for (const path of ['', ...paths]) {
      const source = join(from, path);
      const staged = join(target, entry, path);
      const was = lstatSafe(staged);
      if (!was) continue;
      const now = lstatSync(source);
      if (was.isSymbolicLink() || now.isSymbolicLink() || was.isDirectory() !== now.isDirectory()) rmSync(staged, { recursive: true, force: true });
    }
    cpSync(from, join(target, entry), { recursive: true, force: true, dereference: false, verbatimSymlinks: true, preserveTimestamps: true });
    // The entry, the folders above it (native for native/build) and everything in it stay.
    const parts = entry.split('/');
    parts.forEach((_, i) => wanted.add(parts.slice(0, i + 1).join('/')));
    for (const path of paths) wanted.add(join(entry, path));
  }
  for (const path of listTree(target)) if (!wanted.has(path)) rmSync(join(target, path), { recursive: true, force: true });
  return target;
}

function lstatSafe(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Every path under `dir`, relative to it (symlinks listed, not followed). */
function listTree(dir: string): string[] {
  if (!lstatSync(dir).isDirectory()) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => [entry.name, ...(entry.isDirectory() ? listTree(join(dir, entry.name)).map((p) => join(entry.name, p)) : [])]);
}

export function stageLesson(lesson: Lesson, stagingRoot: string): string {
  ensureRoot(stagingRoot);
  buildNative(lesson);
  return stage(lesson.dir, LESSON_ENTRIES, join(stagingRoot, 'lessons', lesson.slug));
}

/**
 * The platform's files for every sandbox, mounted read-only under /opt/opslab, and its programs
 * (name → built binary: sandbox-init), copied beside them: bwrap, running as the sandbox's uid,
 * must be able to reach what it binds, and a checkout under a 0700 home it cannot.
 */
export function stagePlatform(stagingRoot: string, programs: Record<string, string> = {}): string {
  ensureRoot(stagingRoot);
  const target = stage(PLATFORM_DIR, ['bashrc', 'bin'], join(stagingRoot, 'platform'));
  for (const [name, binary] of Object.entries(programs)) {
    copyFileSync(binary, join(target, name));
    chmodSync(join(target, name), 0o755);
  }
  return target;
}
