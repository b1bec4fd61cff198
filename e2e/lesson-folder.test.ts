/**
 * A lesson is its folder: the ZeroVM lesson copied under a new slug into another lessons folder gets
 * its page built, its sandbox served and its own e2e walk passed — by the same site, server and
 * Playwright configuration, with OPSLAB_LESSONS_DIR pointing at the copy and not a line of platform
 * code changed. The walk runs in a Playwright run of its own (its own server, port and uids), whose
 * report this test reads.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { restoreAstroTypes } from './page-helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the project: the walk imports @playwright/test, resolved from the project's node_modules.
const work = join(root, 'test-results/lesson-folder');
const port = Number(process.env.OPSLAB_E2E_PORT ?? 4391) + 2;
const uidBase = Number(process.env.OPSLAB_E2E_UID_BASE ?? 650_000) + 2000;

test.afterAll(() => restoreAstroTypes(root));

test('a lesson copied under a new slug into another lessons folder builds, serves and passes its own walk', async () => {
  test.setTimeout(600_000);
  rmSync(work, { recursive: true, force: true });
  const lessons = join(work, 'lessons');
  mkdirSync(lessons, { recursive: true });
  chmodSync(work, 0o755);
  chmodSync(lessons, 0o755);
  // verbatimSymlinks: as cp -r copies bin/zerovm -> ../native/build/zerovm (Node would make it absolute).
  cpSync(join(root, 'lessons/zerovm'), join(lessons, 'zerovm-copy'), { recursive: true, verbatimSymlinks: true });
  const env = { ...process.env, FORCE_COLOR: '0', OPSLAB_LESSONS_DIR: lessons };

  const build = spawnSync('npx', ['astro', 'build', '--outDir', join(work, 'dist')], { cwd: root, env, encoding: 'utf8' });
  expect(build.status, build.stdout + build.stderr).toBe(0);
  expect(readFileSync(join(work, 'dist/lessons/zerovm-copy/index.html'), 'utf8')).toContain('data-lesson="zerovm-copy"');

  const walk = spawnSync('npx', ['playwright', 'test', '-c', 'e2e/playwright.config.ts', '--project', 'lessons'], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...env,
      OPSLAB_SITE_DIR: join(work, 'dist'),
      OPSLAB_E2E_PORT: String(port),
      OPSLAB_E2E_UID_BASE: String(uidBase),
      OPSLAB_E2E_REPORT: join(work, 'report.json'),
      OPSLAB_E2E_OUTPUT: join(work, 'traces'),
    },
  });
  expect(walk.status, walk.stdout + walk.stderr).toBe(0);
  const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as { stats: { expected: number; unexpected: number }; suites: Array<{ file: string }> };
  expect(report.stats).toMatchObject({ expected: 1, unexpected: 0 });
  expect(report.suites.map((s) => s.file)).toEqual(['../test-results/lesson-folder/lessons/zerovm-copy/e2e/walk.test.ts']);
  rmSync(work, { recursive: true, force: true });
});
