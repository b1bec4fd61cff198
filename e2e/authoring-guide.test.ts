/**
 * docs/authoring.md's walk-through, followed as an author would: its `npm run new-lesson` line, then
 * every file block it shows (```lang file=<path> [append]```) applied in order, then its
 * `lessons:lint` and `lessons:test` lines, run as written; then the site built for that lesson and
 * the lesson's own browser walk (the guide's e2e/walk.test.ts) run by Playwright's `lessons`
 * project. One deviation: the site goes to a folder of its own rather than dist/ (`npm run build`),
 * which the suite's server is serving. Each stage's time is printed: what writing a lesson costs.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { restoreAstroTypes } from './page-helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const guide = readFileSync(join(root, 'docs/authoring.md'), 'utf8');
const walkThrough = guide.slice(guide.indexOf('## From zero to a tested lesson'), guide.indexOf('## The folder'));
// Inside the project: the lesson's walk imports @playwright/test from the project's node_modules.
const work = join(root, 'test-results/authoring-guide');
const lessons = join(work, 'lessons');
const port = Number(process.env.OPSLAB_E2E_PORT ?? 4391) + 3;
const uidBase = Number(process.env.OPSLAB_E2E_UID_BASE ?? 650_000);

/** The guide's command lines that start with `prefix`, from its ```bash blocks. */
function commands(prefix: string): string[] {
  return [...walkThrough.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].flatMap((m) => m[1]!.split('\n')).filter((line) => line.startsWith(prefix));
}

const timings: Array<[string, number]> = [];
function timed(what: string, command: string, env: Record<string, string> = {}) {
  const started = performance.now();
  const result = spawnSync('bash', ['-c', command], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', OPSLAB_LESSONS_DIR: lessons, ...env } });
  timings.push([what, (performance.now() - started) / 1000]);
  return { status: result.status, output: result.stdout + result.stderr };
}

test.afterAll(() => restoreAstroTypes(root));

test('the authoring guide, followed from zero: scaffold, a step, a quiz, lint, lessons:test, its own browser walk', async () => {
  test.setTimeout(600_000);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(lessons, { recursive: true });
  chmodSync(work, 0o755);
  chmodSync(lessons, 0o755);

  const [scaffold] = commands('npm run new-lesson -- ');
  expect(scaffold).toBeDefined();
  const slug = /new-lesson -- ([a-z0-9-]+)/.exec(scaffold!)![1]!;
  const made = timed('scaffold', scaffold!);
  expect(made.status, made.output).toBe(0);

  // Every file block of the walk-through, in order: written, or appended to.
  const blocks = [...walkThrough.matchAll(/^(`{3,})\w+ file=(\S+)( append)?\n([\s\S]*?)^\1$/gm)];
  expect(blocks.map((b) => b[2])).toEqual(['index.mdx', 'steps/make-private/check.sh', 'steps/make-private/solve.sh', 'index.mdx', 'e2e/walk.test.ts']);
  for (const [, , path, append, text] of blocks) {
    const file = join(lessons, slug, path!);
    mkdirSync(dirname(file), { recursive: true });
    if (append) appendFileSync(file, text!);
    else writeFileSync(file, text!);
    if (file.endsWith('.sh')) chmodSync(file, 0o755);
  }

  const [lint] = commands('npm run lessons:lint');
  const linted = timed('lessons:lint', lint!);
  expect(linted.status, linted.output).toBe(0);
  expect(linted.output).toContain('lessons:lint: 1 lessons clean, 0 with 0 problems');

  const [lessonsTest] = commands('npm run lessons:test');
  const tested = timed('lessons:test', lessonsTest!, { OPSLAB_LESSONS_TEST_UID_BASE: String(uidBase + 3000) });
  expect(tested.status, tested.output).toBe(0);
  expect(tested.output).toMatch(/who-reads\s+PASS/);
  expect(tested.output).toContain('lessons:test: 4 passed, 0 failed');

  const built = timed('site build', `npx astro build --outDir ${join(work, 'dist')}`);
  expect(built.status, built.output).toBe(0);
  const walked = timed('e2e walk', 'npx playwright test -c e2e/playwright.config.ts --project lessons -g "private notes"', {
    OPSLAB_SITE_DIR: join(work, 'dist'),
    OPSLAB_E2E_PORT: String(port),
    OPSLAB_E2E_UID_BASE: String(uidBase + 4000),
    OPSLAB_E2E_REPORT: join(work, 'report.json'),
    OPSLAB_E2E_OUTPUT: join(work, 'traces'),
  });
  expect(walked.status, walked.output).toBe(0);
  const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as { stats: { expected: number; unexpected: number } };
  expect(report.stats).toMatchObject({ expected: 1, unexpected: 0 });

  console.log(`authoring guide, from zero to a tested lesson: ${timings.map(([what, s]) => `${what} ${s.toFixed(1)} s`).join(', ')}; ${timings.reduce((n, [, s]) => n + s, 0).toFixed(1)} s in all`);
  rmSync(work, { recursive: true, force: true });
});
