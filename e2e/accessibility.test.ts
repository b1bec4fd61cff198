/**
 * Accessibility in a real browser (Debian chromium): axe-core on the index and on every lesson page
 * the index links to, in the light and the dark theme; and a keyboard-only walk through a lesson
 * (skip link to the terminal, a Run button, Check, F6 out of the terminal, tabs).
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { lessonPaths, openLesson, terminalScreen } from './page-helpers.ts';

/** axe's findings, one line per node, so a failure says what to fix without opening a report. */
function describe(violations: Awaited<ReturnType<AxeBuilder['analyze']>>['violations']): string {
  return violations
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}\n      ${n.failureSummary?.replace(/\n/g, '\n      ')}`).join('\n')}`)
    .join('\n');
}

async function expectNoViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  expect(describe(results.violations), `axe on ${what}`).toBe('');
}

for (const scheme of ['light', 'dark'] as const) {
  test(`axe finds nothing on the index and on every lesson page (${scheme} theme)`, async ({ page }) => {
    test.setTimeout(180_000);
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto('/');
    await expect(page.locator('html')).toHaveAttribute('data-theme', scheme);
    await expectNoViolations(page, `/ (${scheme})`);

    const paths = await lessonPaths(page);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      await openLesson(page, path);
      await expect(page.locator('html')).toHaveAttribute('data-theme', scheme);
      await expectNoViolations(page, `${path} (${scheme})`);
    }
  });
}

test('axe finds nothing on a lesson with a ready shell, its output, and screen reader mode on', async ({ page }) => {
  await openLesson(page, '/lessons/getting-started/', { live: true });
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await page.locator('section.step[data-step="create-file"] .code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(terminalScreen(page)).toContainText('Hello, Opslab!');
  await expectNoViolations(page, 'getting-started, ready');

  // Screen reader mode: xterm.js's accessibility tree, remembered across pages.
  const reader = terminal.getByRole('button', { name: 'Screen reader' });
  await reader.click();
  await expect(reader).toHaveAttribute('aria-pressed', 'true');
  await expect(terminal.locator('.xterm-accessibility')).toBeAttached();
  await expectNoViolations(page, 'getting-started, screen reader mode');
  await page.reload();
  await expect(page.locator('main.lesson-page')).toHaveAttribute('data-ui', 'ready');
  await expect(reader).toHaveAttribute('aria-pressed', 'true');
  await expect(terminal.locator('.xterm-accessibility')).toBeAttached();
});

/** Is the keyboard in a terminal? */
const inTerminal = (page: Page) => page.evaluate(() => Boolean(document.activeElement?.closest('.xterm')));

/** Presses Tab until `target` has the focus; the number of presses it took (fails after `max`). */
async function tabTo(page: Page, target: ReturnType<Page['locator']>, max: number): Promise<number> {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((element) => element === document.activeElement)) return presses;
  }
  throw new Error(`${max} presses of Tab did not reach ${target}`);
}

test('keyboard only: Tab reaches the terminal, a Run button and Check early; Run types into the terminal; F6 leaves it', async ({ page }) => {
  await openLesson(page, '/lessons/getting-started/', { live: true });
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(terminal.locator('.terminal-hint')).toHaveText('F6 leaves the terminal');

  // The first Tab stop is "Skip to terminal", shown when focused; it puts the keyboard in the shell.
  const skip = page.getByRole('link', { name: 'Skip to terminal' });
  expect(await tabTo(page, skip, 1)).toBe(1);
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect.poll(() => inTerminal(page)).toBe(true);
  await page.keyboard.type('echo "typed-$((2*21))"');
  await page.keyboard.press('Enter');
  await expect(terminalScreen(page)).toContainText('typed-42');

  // Tab and Esc belong to the shell (completion, vim): the keyboard stays in the terminal.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Escape');
  expect(await inTerminal(page)).toBe(true);
  await page.keyboard.press('Control+g'); // Esc waits for a second key in bash: Esc Ctrl-G is readline's abort
  // F6 leaves: to the lesson text.
  await page.keyboard.press('F6');
  await expect.poll(() => inTerminal(page)).toBe(false);
  await expect(page.locator('.lesson-text')).toBeFocused();
  // ... and F6 goes back in.
  await page.keyboard.press('F6');
  await expect.poll(() => inTerminal(page)).toBe(true);
  await page.keyboard.press('Shift+F6');
  await expect.poll(() => inTerminal(page)).toBe(false);

  // From the top of the page, a Run button is a few Tabs away; Enter runs it in the terminal.
  await page.reload();
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  const step = page.locator('section.step[data-step="create-file"]');
  const run = step.locator('.code-block').first().getByRole('button', { name: '▶ Run' });
  expect(await tabTo(page, run, 12)).toBeLessThanOrEqual(12);
  await page.keyboard.press('Enter');
  await expect(terminalScreen(page)).toContainText('Hello, Opslab!');
  await expect.poll(() => inTerminal(page)).toBe(true);

  // F6 brings the keyboard back to the Run button it came from; Check is a few Tabs further.
  await page.keyboard.press('F6');
  await expect(run).toBeFocused();
  await tabTo(page, step.getByRole('button', { name: 'Check' }), 8);
  await page.keyboard.press('Enter');
  await expect(step.locator('output.feedback')).toContainText('✓');
});

test('terminal tabs are an ARIA tablist: arrows, Home and End move between them, Enter enters the terminal', async ({ page }) => {
  await openLesson(page, '/lessons/galera/');
  const tabs = page.getByRole('tablist', { name: 'Terminals' }).getByRole('tab');
  await expect(tabs).toHaveText(['host', 'mariadb-01', 'mariadb-02', 'mariadb-03']);
  for (const tab of await tabs.all()) {
    const panel = page.locator(`#${await tab.getAttribute('aria-controls')}`);
    await expect(panel).toHaveAttribute('role', 'tabpanel');
    await expect(panel).toHaveAttribute('aria-labelledby', (await tab.getAttribute('id'))!);
  }
  // One tab in the Tab order: the selected one.
  await expect(page.locator('[role=tab][tabindex="0"]')).toHaveCount(1);

  const first = tabs.nth(0);
  await first.focus();
  await page.keyboard.press('ArrowRight');
  await expect(tabs.nth(1)).toBeFocused();
  await expect(tabs.nth(1)).toHaveAttribute('aria-selected', 'true');
  await expect(tabs.nth(1)).toHaveAttribute('tabindex', '0');
  await expect(first).toHaveAttribute('tabindex', '-1');
  await expect(page.getByRole('tabpanel', { name: 'mariadb-01' })).toBeVisible();
  await expect(page.locator('opslab-terminal[data-terminal="host"]')).toBeHidden();
  await page.keyboard.press('End');
  await expect(tabs.nth(3)).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(first).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(tabs.nth(3)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Home');
  await expect(first).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tabpanel', { name: 'host' })).toBeVisible();
  await page.keyboard.press('Enter');
  await expect.poll(() => inTerminal(page)).toBe(true);

  // A Run button for another terminal selects that terminal's tab.
  await tabs.nth(2).click();
  await expect(tabs.nth(2)).toHaveAttribute('aria-selected', 'true');
  await page.locator('section.step[data-step="up"] .code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(first).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tabpanel', { name: 'host' })).toBeVisible();
});

test('the split gutter is a separator with a value from the start, and moves with the keyboard', async ({ page }) => {
  await openLesson(page, '/lessons/zerovm/');
  const gutter = page.getByRole('separator', { name: 'Resize text and terminal' });
  const value = Number(await gutter.getAttribute('aria-valuenow'));
  expect(value).toBeGreaterThan(0);
  await gutter.focus();
  await page.keyboard.press('ArrowRight');
  await expect(gutter).toHaveAttribute('aria-valuenow', String(value + 5));
  await page.keyboard.press('Enter'); // back to the lesson's own split
  await expect(gutter).toHaveAttribute('aria-valuenow', String(value));
});
