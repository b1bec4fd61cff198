/**
 * `npm test`: every suite, in order — typecheck, lessons:lint, unit + integration (node --test), site build,
 * lessons:test, e2e (Playwright in Debian chromium), a quick benchmark run — then one line:
 * `N passed, N failed`.
 *
 * `npm test -- unit lessons` runs only the named stages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const results = join(root, 'test-results');

interface Counts {
  passed: number;
  failed: number;
}

function run(command: string, args: string[]): number {
  // OPSLAB_OPENSTACK_SHARED: the cloud's control plane is this runner's fixture; tests leave it up (see below).
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0', OPSLAB_OPENSTACK_SHARED: '1' } });
  return result.status ?? 1;
}

/** Test files next to the code they test and under sandbox-server/test (e2e has its own runner). */
function testFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'e2e', '.git', '.astro', 'test-results'].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...testFiles(path));
    else if (entry.name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found.sort();
}

const gate = (name: string, command: string, args: string[]): Counts => {
  console.log(`\n=== ${name}`);
  return run(command, args) === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
};

const stages: Record<string, () => Counts> = {
  // Every part as its own project (tsconfig.base.json): the boundaries between them are checked too.
  typecheck: () => gate('typecheck (tsc -b)', 'npx', ['tsc', '-b']),
  // Every lesson through lessons:lint (schema, scripts, shellcheck, packages, evidence): one count per lesson.
  lint: () => {
    console.log('\n=== lessons:lint');
    const json = join(results, 'lessons-lint.json');
    const status = run('npx', ['tsx', 'scripts/lessons-lint.ts', '--json', json]);
    const lessons = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as Array<{ problems: unknown[] }>) : [];
    const counts = { passed: lessons.filter((l) => l.problems.length === 0).length, failed: lessons.filter((l) => l.problems.length > 0).length };
    if (status !== 0 && counts.failed === 0) counts.failed = 1;
    return counts;
  },
  unit: () => {
    console.log('\n=== unit and integration tests (node --test)');
    const tap = join(results, 'node-test.tap');
    const status = run('node', [
      '--import', 'tsx', '--test', '--test-concurrency=1',
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`,
      ...testFiles(root),
    ]);
    const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
    const count = (key: string) => Number(new RegExp(`^# ${key} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const counts = { passed: count('pass'), failed: count('fail') + count('cancelled') };
    if (status !== 0 && counts.failed === 0) counts.failed = 1; // the runner itself failed
    return counts;
  },
  build: () => gate('site build (astro build)', 'npx', ['astro', 'build']),
  lessons: () => {
    console.log('\n=== lessons:test');
    const json = join(results, 'lessons.json');
    const status = run('npx', ['tsx', 'sandbox-server/src/lessons-test.ts', '--json', json]);
    const reports = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as Array<{ ok: boolean }>) : [];
    const counts = { passed: reports.filter((r) => r.ok).length, failed: reports.filter((r) => !r.ok).length };
    if (status !== 0 && counts.failed === 0) counts.failed = 1;
    return counts;
  },
  e2e: () => {
    console.log('\n=== e2e (Playwright, Debian chromium)');
    const json = join(results, 'e2e.json');
    const status = run('npx', ['playwright', 'test', '-c', 'e2e/playwright.config.ts']);
    const stats = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as { stats: { expected: number; unexpected: number; flaky: number } }).stats : undefined;
    const counts = { passed: (stats?.expected ?? 0) + (stats?.flaky ?? 0), failed: stats?.unexpected ?? 0 };
    if (status !== 0 && counts.failed === 0) counts.failed = 1;
    return counts;
  },
  // Every benchmark at small sizes: `npm run bench` keeps working, and no byte is lost on the way
  // into xterm.js. Its timings are printed, never judged here.
  bench: () => gate('benchmarks, quick (npm run bench -- --quick)', 'npx', ['tsx', 'bench/run.ts', '--quick', '--out', join(results, 'bench-quick.md')]),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in stages));
if (unknown.length > 0) {
  console.error(`unknown stage(s): ${unknown.join(', ')}; stages: ${Object.keys(stages).join(', ')}`);
  process.exit(2);
}
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });
// A shared service's local control plane (services/<name>/control-plane.sh: the OpenStack cloud's)
// is one fixture for every stage that needs it (its tests, its lessons' lessons:test and e2e):
// warmed in the background from the start (a first bootstrap takes minutes), used by each (they
// wait on its lock and find it up), stopped at the end if this run started it.
const controlPlanes = readdirSync(join(root, 'services'))
  .map((name) => join(root, 'services', name, 'control-plane.sh'))
  .filter((path) => existsSync(path));
const needsServices = ['unit', 'lessons', 'e2e'].some((name) => wanted.length === 0 || wanted.includes(name));
const startedHere = controlPlanes.filter((path) => needsServices && spawnSync('bash', [path, 'status'], { encoding: 'utf8' }).stdout.includes('stopped'));
for (const path of startedHere) {
  const log = openSync(join(results, `${relative(join(root, 'services'), path).split('/')[0]}-start.log`), 'w');
  spawn('bash', [path, 'start'], { stdio: ['ignore', log, log] }).unref();
}
const total: Counts = { passed: 0, failed: 0 };
for (const [name, stage] of Object.entries(stages)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  // e2e and bench need the built site: build first even when only they were asked for.
  if ((name === 'e2e' || name === 'bench') && wanted.length > 0 && !wanted.includes('build')) stages.build!();
  const counts = stage();
  total.passed += counts.passed;
  total.failed += counts.failed;
}
for (const path of startedHere) run('bash', [path, 'stop']);
console.log(`\n${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed > 0 ? 1 : 0);
