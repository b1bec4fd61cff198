/**
 * The ZeroVM lesson walked in a real browser: measure and answer, click-to-run into the wall,
 * Solve it for me for the rest — every check runs in the attendee's own sandbox.
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

/** This lesson's slug: its folder's name (a copy under another name tests itself). */
const LESSON = basename(fileURLToPath(new URL('../', import.meta.url)));

test('zerovm: every step of the lesson, in the browser', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(`/lessons/${LESSON}/`);
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  const screen = terminal.locator('.xterm-rows');

  // 1. Measure with the click-to-run block, then type what was measured.
  const models = page.locator('section.step[data-step="models"]');
  await models.locator('.code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(screen).toContainText(/zerovm: median [\d.]+ ms/, { timeout: 30_000 });
  const text = (await screen.textContent())!;
  const median = (model: string) => text.match(new RegExp(`${model}: median ([\\d.]+) ms`))![1]!;
  await models.getByRole('textbox').fill(`${median('plain')} ${median('container')} ${median('zerovm')}`);
  await models.getByRole('button', { name: 'Check' }).click();
  await expect(models.locator('output.feedback')).toContainText('✓ Right: plain');

  // 2. Check first: it says what is missing; then let the platform solve it.
  const manifest = page.locator('section.step[data-step="manifest"]');
  await manifest.getByRole('button', { name: 'Check' }).click();
  await expect(manifest.locator('output.feedback')).toContainText('✗ wc.nexe has not run under zerovm yet');
  await manifest.locator('details.solution summary').click();
  await manifest.getByRole('button', { name: 'Solve it for me' }).click();
  await expect(manifest).toHaveAttribute('data-state', 'solved', { timeout: 20_000 });

  // 3. The wall: both attempts typed by the Run buttons, killed by the runtime, seen in the terminal.
  const wall = page.locator('section.step[data-step="wall"]');
  const runs = wall.locator('.code-block').getByRole('button', { name: '▶ Run' });
  await runs.nth(0).click();
  await expect(screen).toContainText('killed: the program called openat("/etc/passwd")');
  await runs.nth(1).click();
  await expect(screen).toContainText('killed: the program called socket(AF_INET, SOCK_STREAM)');
  await wall.getByRole('button', { name: 'Check' }).click();
  await expect(wall.locator('output.feedback')).toContainText('✓ Right: killed at openat');

  for (const id of ['quota', 'pipeline']) {
    const step = page.locator(`section.step[data-step="${id}"]`);
    await step.locator('details.solution summary').click();
    await step.getByRole('button', { name: 'Solve it for me' }).click();
    await expect(step).toHaveAttribute('data-state', 'solved', { timeout: 20_000 });
  }
  await expect(page.locator('.step-count')).toHaveText('5 of 5 done');
});
