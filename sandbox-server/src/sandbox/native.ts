/**
 * Builds the spawner (native/spawner.c: forks, joins and hardens every sandbox process) when it is
 * missing or older than its source. gcc and libseccomp-dev come from scripts/setup.sh.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.ts';

const source = join(projectRoot, 'sandbox-server/native/spawner.c');
const binary = join(projectRoot, 'sandbox-server/native/build/spawner');

export function spawnerPath(): string {
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(join(binary, '..'), { recursive: true });
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, source, '-lseccomp'], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`cannot build the spawner (needs gcc and libseccomp-dev: run scripts/setup.sh): ${stderr.trim()}`);
  }
  return binary;
}
