/**
 * `npm run dev` as an author uses it: a scaffolded lesson open in the browser through astro dev and
 * the server beside it, a Check, then check.sh edited on disk — and the next Check runs the edited
 * script, in the sandbox already running, without a restart of anything. The author's tools are on
 * the page (they are never in the built site: the other tests' pages have none), and Re-run setup
 * says what it did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { scaffoldLesson } from '../lesson-model/scaffold.ts';
import { restoreAstroTypes } from './page-helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = join(root, 'test-results/dev-mode');
const base = Number(process.env.OPSLAB_E2E_PORT ?? 4391);
const sitePort = base + 4;
const serverPort = base + 5;
const SLUG = 'live-edit';

let dev: ChildProcess | undefined;
// The server's state where the sandboxes' uids can reach it: a clone may sit in a 0700 folder.
const state = mkdtempSync('/tmp/opslab-e2e-dev-');
chmodSync(state, 0o755);
test.afterEach(async () => {
  if (dev?.exitCode === null) {
    process.kill(-dev.pid!, 'SIGTERM');
    await new Promise((resolve) => dev!.once('exit', resolve));
  }
  rmSync(work, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});
test.afterAll(() => restoreAstroTypes(root));

test('npm run dev: an edited check.sh is what the next Check runs, with no restart', async ({ page }) => {
  test.setTimeout(300_000);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'lessons'), { recursive: true });
  chmodSync(work, 0o755);
  chmodSync(join(work, 'lessons'), 0o755);
  scaffoldLesson(join(work, 'lessons'), { slug: SLUG });
  dev = spawn('npx', ['tsx', 'sandbox-server/src/dev.ts'], {
    cwd: root,
    detached: true, // its own process group: astro dev and the server stop together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      OPSLAB_LESSONS_DIR: join(work, 'lessons'),
      OPSLAB_DEV_PORT: String(sitePort),
      OPSLAB_DEV_SERVER_PORT: String(serverPort),
      OPSLAB_DB: join(state, 'opslab.db'),
      OPSLAB_STAGING_DIR: join(state, 'staging'),
      OPSLAB_UID_BASE: String(Number(process.env.OPSLAB_E2E_UID_BASE ?? 650_000) + 5000),
      OPSLAB_UID_COUNT: '100',
      OPSLAB_LOG_LEVEL: 'warn',
    },
  });
  // What npm run dev says, for the failure message: it is the author's only view of a problem.
  let said = '';
  for (const stream of [dev.stdout!, dev.stderr!]) stream.on('data', (data: Buffer) => (said = (said + data.toString()).slice(-4000)));
  const url = `http://localhost:${sitePort}/lessons/${SLUG}/`;
  // astro dev compiles on the first request: wait for the page (a safety net, not a measure).
  await expect(async () => {
    expect(dev!.exitCode, `npm run dev exited:\n${said}`).toBeNull();
    const response = await fetch(url).catch(() => undefined);
    expect(response?.status, `no page yet; npm run dev says:\n${said}`).toBe(200);
  }).toPass({ timeout: 180_000 });

  await page.goto(url);
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  const step = page.locator('section.step[data-step="write-note"]');
  const feedback = step.locator('output.feedback');
  await step.getByRole('button', { name: 'Check' }).click();
  await expect(feedback).toContainText('✗ There is no note yet');

  const check = join(work, 'lessons', SLUG, 'steps/write-note/check.sh');
  writeFileSync(check, readFileSync(check, 'utf8').replace('There is no note yet', 'Edited while it ran: still no note'));
  // The save is re-staged within moments: Check until the feedback is the edited script's.
  await expect(async () => {
    await step.getByRole('button', { name: 'Check' }).click();
    await expect(feedback).toContainText('✗ Edited while it ran: still no note', { timeout: 2000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready');

  const tools = page.getByRole('group', { name: "Author's tools (npm run dev)" });
  await tools.getByRole('button', { name: 'Re-run setup' }).click();
  await expect(page.locator('.notice')).toContainText('setup.sh ran again.');
});
