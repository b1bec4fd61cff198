/**
 * `npx tsx bench/start-profile.ts [repository]`: how many processes and execs one attendee's start
 * (getting-started: the sandbox, its checker's view, setup, a shell) and one check create, counted
 * with `strace -f` on a real server of that checkout (default: this one). docs/decisions.md §23.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../sandbox-server/src/config.ts';

const repo = resolve(process.argv[2] ?? projectRoot);
const { newAttendee, TestClient } = (await import(join(repo, 'sandbox-server/test/helpers.ts'))) as typeof import('../sandbox-server/test/helpers.ts');
const work = mkdtempSync('/tmp/opslab-start-profile-');
chmodSync(work, 0o755);
const port = 4700 + Math.floor(Math.random() * 200);
const trace = join(work, 'trace');
const env = { ...process.env, OPSLAB_PORT: String(port), OPSLAB_DB: join(work, 'db'), OPSLAB_STAGING_DIR: join(work, 'staging'), OPSLAB_UID_BASE: '760000', OPSLAB_LOG_LEVEL: 'warn', OPSLAB_METRICS_PORT: '0' };
const strace = spawn('strace', ['-f', '-qq', '-e', 'trace=execve,clone,clone3,fork,vfork', '-o', trace, process.execPath, '--import', 'tsx', 'sandbox-server/src/main.ts'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((done) => strace.stdout!.on('data', (d: Buffer) => String(d).includes('Opslab is running') && done()));
const serverPid = Number(readFileSync(`/proc/${strace.pid}/task/${strace.pid}/children`, 'utf8').trim().split(' ')[0]);
const url = `http://127.0.0.1:${port}`;
const lineCount = () => readFileSync(trace, 'utf8').split('\n').length;
const settle = () => new Promise((r) => setTimeout(r, 500));

const client = new TestClient(url, await newAttendee(url));
await client.opened();
const before = lineCount();
await client.hello('getting-started');
await client.ready();
await settle();
const afterStart = lineCount();
await client.check('create-file');
await settle();
const afterCheck = lineCount();
await client.close();
process.kill(serverPid, 'SIGTERM');
await new Promise((r) => strace.once('exit', r));

const lines = readFileSync(trace, 'utf8').split('\n');
function count(from: number, to: number) {
  const slice = lines.slice(from - 1, to - 1);
  const forks = slice.filter((l) => /\b(clone3?|v?fork)\(/.test(l) && !/CLONE_THREAD/.test(l) && !/= -1|= \?|resumed>/.test(l));
  const execs = slice.filter((l) => /execve\("/.test(l) && !/= -1/.test(l)).map((l) => /execve\("([^"]+)"/.exec(l)![1]!.split('/').pop()!);
  const programs: Record<string, number> = {};
  for (const program of execs) programs[program] = (programs[program] ?? 0) + 1;
  return { forksByServer: forks.filter((l) => l.startsWith(`${serverPid} `)).length, forks: forks.length, execs: execs.length, programs };
}
console.log(JSON.stringify({ start: count(before, afterStart), check: count(afterStart, afterCheck) }, null, 1));
rmSync(work, { recursive: true, force: true });
process.exit(0);
