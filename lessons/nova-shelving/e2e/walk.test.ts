/**
 * The nova-shelving lesson walked in a real browser against the room's real OpenStack: the
 * attendee's own project and test1, real `nova` output in the web terminal, answers read off the
 * screen, Nova's state changed by typed commands and by "Solve it for me".
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { OpenStackCloud } from '../../../services/openstack/cloud.ts';

/** This lesson's slug: its folder's name (a copy under another name tests itself). */
const LESSON = basename(fileURLToPath(new URL('../', import.meta.url)));

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

// Each walk's attendee gives their project back: the room's cloud is shared by every run on this machine.
test.afterEach(async ({ context }) => {
  const attendee = (await context.cookies()).find((c) => c.name === 'opslab_attendee')?.value.split('.')[0];
  if (attendee) await new OpenStackCloud({ stateDir: process.env.OPSLAB_OPENSTACK_DIR || '/var/lib/opslab/openstack', watchSeconds: 3600 }).deprovision(attendee);
});

test('a cold cloud: the attendee sees its stages, the time so far and a progress bar; what they type meanwhile runs once the shell is there', async ({ page }) => {
  test.setTimeout(300_000);
  // The room's control plane, stopped: this attendee's start has to bring it up (or the server's
  // watch is already restarting it; either way the attendee waits for it, and hears it).
  execFileSync('bash', ['services/openstack/control-plane.sh', 'stop'], { cwd: new URL('../../..', import.meta.url).pathname, stdio: 'ignore', timeout: 120_000 });
  await page.goto(`/lessons/${LESSON}/`);
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  const wait = terminal.locator('.terminal-wait');
  await expect(wait.locator('.wait-message')).toContainText(/OpenStack cloud: starting \S+ \(\d+ of \d+\)/, { timeout: 60_000 });
  await expect(wait.locator('.wait-elapsed')).toHaveText(/^\d+ s$|min/);
  const progress = async () => wait.locator('progress').evaluate((p: HTMLProgressElement) => p.value / p.max);
  const early = await progress();
  expect(early).toBeGreaterThan(0);
  await expect(terminal).not.toHaveAttribute('data-state', 'ready');
  await terminal.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('echo typed-while-starting-$((6*7))\n');
  await expect(wait.locator('.wait-typed')).toContainText('kept for your shell');
  await expect.poll(progress, { timeout: 180_000 }).toBeGreaterThan(early);
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 240_000 });
  await expect(wait).toBeHidden();
  await expect(terminal.locator('.xterm-rows')).toContainText('typed-while-starting-42', { timeout: 30_000 });
});

test('nova-shelving: log in, shelve, find the snapshot, unshelve, the openstack CLI', async ({ page }) => {
  test.setTimeout(420_000);
  await page.goto(`/lessons/${LESSON}/`);
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  // The first attendee of the run may start the cloud (about half a minute), then their project and test1.
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 180_000 });
  const screen = terminal.locator('.xterm-rows');

  // 1. Click-to-run `source openrc; nova list`, read test1's ID off the screen, answer with it.
  const login = page.locator('section.step[data-step="login"]');
  await login.locator('.code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(screen).toContainText(/test1\s*\|\s*ACTIVE/, { timeout: 60_000 });
  const id = (await screen.textContent())!.match(new RegExp(`(${UUID})\\s*\\|\\s*test1`))![1]!;
  await login.getByRole('textbox').fill(id);
  await login.getByRole('button', { name: 'Check' }).click();
  await expect(login.locator('output.feedback')).toContainText(`✓ Right: test1 is ${id}`, { timeout: 30_000 });

  // 2. `nova shelve test1` from its Run button; Check until Nova has offloaded it (a few seconds).
  const shelve = page.locator('section.step[data-step="shelve"]');
  await shelve.locator('.code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(async () => {
    await shelve.getByRole('button', { name: 'Check' }).click();
    await expect(shelve.locator('output.feedback')).toContainText('✓ test1 is SHELVED_OFFLOADED', { timeout: 15_000 });
  }).toPass({ timeout: 90_000 });

  // 3. The snapshot's ID, read from `openstack image list` in the terminal.
  const where = page.locator('section.step[data-step="where"]');
  await where.locator('.code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(screen).toContainText(/test1-shelved/, { timeout: 60_000 });
  const image = (await screen.textContent())!.match(new RegExp(`(${UUID})\\s*\\|\\s*test1-shelved`))![1]!;
  await where.getByRole('textbox').fill(image);
  await where.getByRole('button', { name: 'Check' }).click();
  await expect(where.locator('output.feedback')).toContainText(`✓ Right: ${image}`, { timeout: 30_000 });

  // 4 and 5: the platform solves them with the real CLIs; the checks read Nova's action log.
  for (const id of ['unshelve', 'openstack-cli']) {
    const step = page.locator(`section.step[data-step="${id}"]`);
    await step.locator('details.solution summary').click();
    await step.getByRole('button', { name: 'Solve it for me' }).click();
    await expect(step).toHaveAttribute('data-state', 'solved', { timeout: 180_000 });
  }
  await expect(page.locator('.step-count')).toHaveText('5 of 5 done');
});
