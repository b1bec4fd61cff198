/**
 * Builds sandbox-exec (native/sandbox-exec.c: cgroup join + seccomp filter + exec) when it is
 * missing or older than its source. gcc and libseccomp-dev come from scripts/setup.sh.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.ts';

const source = join(projectRoot, 'sandbox-server/native/sandbox-exec.c');
const binary = join(projectRoot, 'sandbox-server/native/build/sandbox-exec');

export function sandboxExecPath(): string {
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(join(binary, '..'), { recursive: true });
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, source, '-lseccomp'], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`cannot build sandbox-exec (needs gcc and libseccomp-dev: run scripts/setup.sh): ${stderr.trim()}`);
  }
  return binary;
}
