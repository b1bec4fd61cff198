/**
 * Builds the platform's two native programs when missing or older than their source: the spawner
 * (native/spawner.c: forks, joins and hardens every sandbox process) and sandbox-init (a sandbox's
 * pid 1, static). gcc, libc6-dev and libseccomp-dev come from scripts/setup.sh.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.ts';

const nativeDir = join(projectRoot, 'sandbox-server/native');

function built(name: string, flags: string[]): string {
  const source = join(nativeDir, `${name}.c`);
  const binary = join(nativeDir, 'build', name);
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(join(binary, '..'), { recursive: true });
  // Built next to its final name and renamed: a server starting meanwhile never execs half a binary.
  const partial = `${binary}.${process.pid}`;
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-static', '-o', partial, source, ...flags], { stdio: 'pipe' });
    renameSync(partial, binary);
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`cannot build ${name} (needs gcc, libc6-dev and libseccomp-dev: run scripts/setup.sh): ${stderr.trim()}`);
  }
  return binary;
}

export function spawnerPath(): string {
  return built('spawner', ['-lseccomp']);
}

export function sandboxInitPath(): string {
  return built('sandbox-init', []);
}
