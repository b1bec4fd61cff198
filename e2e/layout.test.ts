/**
 * The pages' layout on a phone (390×844) and a laptop (1280×800) in a real browser: no page wider
 * than the screen; on the phone, the Lesson / Terminal switch, a Run that shows and types into the
 * terminal, and the key row's Ctrl, Esc and arrows; on wide screens, the columns a lesson asks for,
 * the font size keys and buttons, and "Wide". Also takes the README's screenshots.
 */
import { expect, test, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { lessonPaths, openLesson, terminalScreen } from './page-helpers.ts';

const phone = { width: 390, height: 844 };
const laptop = { width: 1280, height: 800 };

async function expectNoSidewaysScroll(page: Page, what: string) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(scrollWidth, `${what}: the page is ${scrollWidth} px wide on a ${clientWidth} px screen`).toBeLessThanOrEqual(clientWidth);
  // Nor the lesson text inside it: long code lines scroll in their own block.
  const text = await page.locator('.lesson-text:visible').evaluateAll((texts) => texts.map((t) => ({ scrollWidth: t.scrollWidth, clientWidth: t.clientWidth })));
  // A phone's terminal view keeps the text visually hidden (1 px) for its h1: not a column to read.
  for (const { scrollWidth, clientWidth } of text.filter((t) => t.clientWidth > 1)) {
    expect(scrollWidth, `${what}: the lesson text is ${scrollWidth} px wide in a ${clientWidth} px column`).toBeLessThanOrEqual(clientWidth);
  }
}

/** The lesson page of getting-started with a ready shell (the only lesson these tests start a sandbox for). */
async function openLiveLesson(page: Page) {
  await openLesson(page, '/lessons/getting-started/', { live: true });
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
}

/** Is the element's box inside the viewport? */
async function onScreen(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).first().evaluate((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0 && box.right <= innerWidth + 0.5 && box.bottom <= innerHeight + 0.5;
  });
}

for (const [name, size] of [['phone', phone], ['laptop', laptop]] as const) {
  test(`no page is wider than a ${name}'s screen (${size.width}×${size.height}), in either view`, async ({ page }) => {
    test.setTimeout(120_000);
    await page.setViewportSize(size);
    const paths = await lessonPaths(page);
    await expectNoSidewaysScroll(page, '/');
    for (const path of paths) {
      await openLesson(page, path);
      await expectNoSidewaysScroll(page, path);
      if (name === 'phone') {
        await page.locator('.view-switch').getByRole('button', { name: 'Terminal' }).click();
        await expect(page.locator('opslab-terminal:not([hidden]) .xterm-screen')).toBeVisible();
        expect(await onScreen(page, 'opslab-terminal:not([hidden]) .xterm-screen'), `${path}: the terminal is on screen`).toBe(true);
        expect(await onScreen(page, 'opslab-terminal:not([hidden]) .key-row'), `${path}: the key row is on screen`).toBe(true);
        await expectNoSidewaysScroll(page, `${path}, terminal view`);
        await page.locator('.view-switch').getByRole('button', { name: 'Lesson' }).click();
        await expect(page.locator('.lesson-text')).toBeVisible();
      } else {
        // Side by side: text and terminal both on screen.
        expect(await onScreen(page, '.lesson-text'), `${path}: the text is on screen`).toBe(true);
        expect(await onScreen(page, 'opslab-terminal:not([hidden]) .xterm-screen'), `${path}: the terminal is on screen`).toBe(true);
      }
    }
  });
}

test('on a phone: Lesson / Terminal switch, a Run shows the terminal and types into it, the key row sends Ctrl-C, Esc and arrows', async ({ page }) => {
  await page.setViewportSize(phone);
  await openLiveLesson(page);
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  const screen = terminalScreen(page);

  // The lesson first; the terminal is one tap away.
  await expect(page.locator('.lesson-text')).toBeVisible();
  await expect(terminal).toBeHidden();
  const lessonButton = page.locator('.view-switch').getByRole('button', { name: 'Lesson' });
  const terminalButton = page.locator('.view-switch').getByRole('button', { name: 'Terminal' });
  await expect(lessonButton).toHaveAttribute('aria-pressed', 'true');

  // A Run button in the text is reachable, and running it shows the terminal with the command's output.
  const run = page.locator('section.step[data-step="create-file"] .code-block').first().getByRole('button', { name: '▶ Run' });
  await run.scrollIntoViewIfNeeded();
  expect(await run.evaluate((b) => { const r = b.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; })).toBe(true);
  await run.click();
  await expect(terminal).toBeVisible();
  await expect(terminalButton).toHaveAttribute('aria-pressed', 'true');
  await expect(screen).toContainText('Hello, Opslab!');
  await expect(terminal.locator('.key-row')).toBeVisible();

  // Ctrl (sticky) then c from the keyboard: Ctrl-C stops the sleep and the prompt comes back.
  await terminal.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('sleep 100; echo "after-$((40+2))"');
  await page.keyboard.press('Enter');
  await expect(screen).toContainText('sleep 100');
  const ctrl = terminal.locator('.key-row').getByRole('button', { name: 'Ctrl' });
  await ctrl.click();
  await expect(ctrl).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.type('c');
  await expect(ctrl).toHaveAttribute('aria-pressed', 'false');
  await expect(screen).toContainText('^C');
  await page.keyboard.type('echo "interrupted-$((6*7))"');
  await page.keyboard.press('Enter');
  await expect(screen).toContainText('interrupted-42');
  await expect(screen).not.toContainText('after-42');

  // Esc, ↑ and Ctrl then ← from the row: the shell reads exactly the bytes a keyboard sends.
  const keys = terminal.locator('.key-row');
  const shellReads = async (bytes: number, expected: string, press: () => Promise<void>) => {
    await page.keyboard.type(`IFS= read -rsn${bytes} k; printf 'got:%q\\n' "$k"`);
    await page.keyboard.press('Enter');
    await expect(screen).toContainText(`read -rsn${bytes} k`);
    await press();
    await expect(screen).toContainText(`got:${expected}`);
  };
  await shellReads(1, "$'\\E'", () => keys.getByRole('button', { name: 'Esc' }).click());
  await shellReads(3, "$'\\E[A'", () => keys.getByRole('button', { name: 'Up arrow' }).click());
  await shellReads(6, "$'\\E[1;5D'", async () => {
    await ctrl.click();
    await keys.getByRole('button', { name: 'Left arrow' }).click();
  });
  await expect(ctrl).toHaveAttribute('aria-pressed', 'false');
  await shellReads(1, "$'\\t'", () => keys.getByRole('button', { name: 'Tab' }).click());

  // Back to the lesson, where the text was left.
  await lessonButton.click();
  await expect(page.locator('.lesson-text')).toBeVisible();
  await expect(terminal).toBeHidden();
  await expectNoSidewaysScroll(page, 'getting-started after the walk');
});

test('wide screens: the terminal gets the columns the lesson asks for, the text keeps a readable width', async ({ page }) => {
  const cols = () => page.locator('opslab-terminal[data-terminal="main"]').getAttribute('data-cols').then(Number);
  // nova-shelving asks for 132 columns (`nova list`): at 1600 px the text still gets a readable width.
  await page.setViewportSize({ width: 1600, height: 900 });
  await openLesson(page, '/lessons/nova-shelving/');
  await expect.poll(cols).toBeGreaterThanOrEqual(132);
  expect((await page.locator('.lesson-text').boundingBox())!.width).toBeGreaterThanOrEqual(22 * 16);
  // At 1280 px the text keeps its minimum and the terminal gets the rest.
  await page.setViewportSize(laptop);
  await expect(page.locator('.lesson-text')).toHaveJSProperty('offsetWidth', 22 * 16);
  await expect.poll(cols).toBeGreaterThanOrEqual(100);
  // A lesson without `columns` gets 80, and the text more room.
  await openLesson(page, '/lessons/getting-started/');
  await expect.poll(cols).toBeGreaterThanOrEqual(80);
  expect((await page.locator('.lesson-text').boundingBox())!.width).toBeGreaterThan(22 * 16);
});

test('Ctrl + / Ctrl − and A−/A+ resize the terminal\'s text (not the page), remembered; Wide gives the terminal most of the width', async ({ page }) => {
  await page.setViewportSize(laptop);
  await openLesson(page, '/lessons/nova-shelving/');
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  const cols = () => terminal.getAttribute('data-cols').then(Number);
  const fontSize = () => page.evaluate(() => localStorage.getItem('opslab-terminal-font-size'));
  const rowsFont = () => terminal.locator('.xterm-rows').evaluate((rows) => getComputedStyle(rows).fontSize);
  await expect.poll(rowsFont).toBe('14px');

  // Ctrl + in the terminal: larger text (so fewer columns here, where the text is at its minimum), no page zoom.
  await terminal.locator('.xterm-helper-textarea').focus();
  const before = await cols();
  // The listener is in place before the key is sent (an evaluate left pending may run after it).
  await page.evaluate(() => {
    const seen = (event: KeyboardEvent) => {
      if (event.key !== '=') return;
      window.removeEventListener('keydown', seen);
      (window as unknown as { zoomKeyPrevented: boolean }).zoomKeyPrevented = event.defaultPrevented;
    };
    window.addEventListener('keydown', seen);
  });
  await page.keyboard.press('Control+Equal');
  await expect.poll(() => page.evaluate(() => (window as unknown as { zoomKeyPrevented?: boolean }).zoomKeyPrevented), { message: 'Ctrl+= is kept from the browser (no page zoom)' }).toBe(true);
  await expect.poll(rowsFont).toBe('15px');
  await expect.poll(cols).toBeLessThan(before);
  expect(await fontSize()).toBe('15');
  await page.keyboard.press('Control+Minus');
  await page.keyboard.press('Control+Minus');
  await expect.poll(fontSize).toBe('13');
  await expect.poll(cols).toBeGreaterThan(before);
  await page.keyboard.press('Control+0');
  await expect.poll(fontSize).toBe('14');

  // A+ / A− in the terminal bar do the same; the size is remembered across pages.
  await terminal.getByRole('button', { name: 'Larger terminal text' }).click();
  await expect.poll(fontSize).toBe('15');
  await terminal.getByRole('button', { name: 'Smaller terminal text' }).click();
  await terminal.getByRole('button', { name: 'Smaller terminal text' }).click();
  await expect.poll(fontSize).toBe('13');
  await page.reload();
  await expect(page.locator('main.lesson-page')).toHaveAttribute('data-ui', 'ready');
  await expect.poll(rowsFont).toBe('13px');
  await expect.poll(cols).toBeGreaterThan(before);

  // Wide: most of the width for the terminal, and back; remembered.
  const wide = terminal.getByRole('button', { name: 'Wide' });
  const normal = await cols();
  await wide.click();
  await expect(wide).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(cols).toBeGreaterThan(normal + 10);
  expect((await page.locator('.lesson-text').boundingBox())!.width).toBeLessThan(laptop.width * 0.2);
  await page.reload();
  await expect(page.locator('main.lesson-page')).toHaveAttribute('data-ui', 'ready');
  await expect(wide).toHaveAttribute('aria-pressed', 'true');
  await wide.click();
  await expect(wide).toHaveAttribute('aria-pressed', 'false');
  await expect.poll(cols).toBe(normal);
});

test('screenshots of a lesson on a phone and a laptop (docs/screenshots/)', async ({ browser }) => {
  // Written to docs/ with OPSLAB_UPDATE_SCREENSHOT=1 (as the README's other screenshot), else to test-results/.
  const dir = process.env.OPSLAB_UPDATE_SCREENSHOT ? '../docs/screenshots/' : '../test-results/screenshots/';
  const shot = (page: Page, name: string) => page.screenshot({ path: fileURLToPath(new URL(`${dir}${name}.png`, import.meta.url)) });
  for (const [name, viewport] of [['lesson-laptop', laptop], ['lesson-phone', phone]] as const) {
    // A context of its own: a fresh attendee, so the shell shows this walk only.
    const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, viewport, colorScheme: 'light' });
    const page = await context.newPage();
    try {
      await openLiveLesson(page);
      const run = page.locator('section.step[data-step="create-file"] .code-block button.run').first();
      await run.click();
      await expect(terminalScreen(page)).toContainText('Hello, Opslab!');
      await expect(run).toHaveText('▶ Run'); // not "Sent" in the picture
      await shot(page, name);
      if (name === 'lesson-phone') {
        await page.locator('.view-switch').getByRole('button', { name: 'Lesson' }).click();
        await run.scrollIntoViewIfNeeded();
        await shot(page, 'lesson-phone-text');
      }
    } finally {
      await context.close();
    }
  }
});
