/**
 * No dead end at the fourth lesson (the per-attendee cap is 3). One browser context is one
 * attendee. With three lessons open in three tabs, the fourth is refused: its page lists the three
 * with Stop buttons, and stopping one starts the fourth without a reload while the stopped lesson's
 * page says what happened. Having left three lessons (one tab, lesson to lesson), the fourth just
 * opens: the lesson left longest ago made room. Lessons that need no shared services only.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';

const LESSONS = [
  { slug: 'getting-started', terminal: 'main', title: 'Getting started' },
  { slug: 'zerovm', terminal: 'main', title: 'ZeroVM concepts' },
  { slug: 'pxe', terminal: 'server', title: 'Build a PXE boot server' },
  { slug: 'galera', terminal: 'host', title: 'Validate a MariaDB Galera cluster' },
] as const;
type Lesson = (typeof LESSONS)[number];

const terminal = (page: Page, lesson: Lesson) => page.locator(`opslab-terminal[data-terminal="${lesson.terminal}"]`);

async function openLesson(page: Page, lesson: Lesson): Promise<void> {
  await page.goto(`/lessons/${lesson.slug}/`);
  await expect(terminal(page, lesson)).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
}

/** Capacity refusals the page's sockets received (ERROR frames, opcode 0x84, code "capacity"). */
function watchRefusals(page: Page): string[] {
  const refusals: string[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload === 'string' || payload[0] !== 0x84) return;
      const error = JSON.parse(payload.subarray(1).toString()) as { code: string; message: string };
      if (error.code === 'capacity') refusals.push(error.message);
    }),
  );
  return refusals;
}

/** Stops what the test started on the shared server, through the API a page uses. */
async function stopAll(context: BrowserContext, baseURL: string): Promise<void> {
  for (const lesson of LESSONS) {
    await context.request.post(`${baseURL}/api/sandboxes/${lesson.slug}/stop`, { headers: { origin: baseURL } }).catch(() => undefined);
  }
}

test('three lessons open in three tabs: the fourth lists them with Stop buttons; Stop starts it without a reload; the stopped page says so', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const context = await browser.newContext();
  try {
    const pages: Page[] = [];
    for (const lesson of LESSONS.slice(0, 3)) {
      const page = await context.newPage();
      await openLesson(page, lesson);
      pages.push(page);
    }
    const [gettingStarted, galera] = [LESSONS[0], LESSONS[3]];
    const fourth = await context.newPage();
    await fourth.clock.install(); // real time flows until paused below
    await fourth.goto(`/lessons/${galera.slug}/`);
    await fourth.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    // The refusal says what holds the places and where to act; the list opens right under it.
    await expect(fourth.locator('.notice')).toContainText(
      "You already have 3 sandboxes in use (getting-started, zerovm, pxe); the limit is 3. Stop one below, or close one of those lessons' tabs.",
      { timeout: 60_000 },
    );
    const panel = fourth.locator('details.sandboxes-panel');
    await expect(panel).toHaveAttribute('open', '');
    await expect(panel).toHaveAttribute('data-refused', 'true');
    const items = panel.locator('.sandboxes-list li');
    await expect(items).toHaveCount(3);
    await expect(items.locator('a')).toHaveText(LESSONS.slice(0, 3).map((l) => l.title));
    await expect(items.locator('.sandbox-state')).toHaveText(['running · open in a tab', 'running · open in a tab', 'running · open in a tab']);
    for (const lesson of LESSONS.slice(0, 3)) {
      await expect(panel.getByRole('button', { name: `Stop the sandbox of “${lesson.title}”` })).toBeVisible();
    }
    await expect(terminal(fourth, galera)).not.toHaveAttribute('data-state', 'ready');

    // The page's own retries (backoff timers) are frozen from here, none in flight: only Stop can bring the terminal up.
    await fourth.clock.pauseAt((await fourth.evaluate(() => Date.now())) + 2000);
    const retrying = fourth.locator('opslab-terminal .terminal-status');
    await expect(retrying).toHaveCount(4);
    for (const status of await retrying.all()) await expect(status).toContainText(/retrying in \d+ s$/);
    await panel.getByRole('button', { name: `Stop the sandbox of “${gettingStarted.title}”` }).click();
    await expect(panel.getByRole('status')).toContainText(`Stopped the sandbox of “${gettingStarted.title}”. Your completed steps stay recorded`);

    // The fourth lesson starts at once, in the same page (no reload).
    await expect(terminal(fourth, galera)).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
    await expect(fourth.locator('.notice')).toBeHidden();
    await expect(panel).not.toHaveAttribute('data-refused', 'true');
    await expect(panel.getByRole('status')).toContainText('This lesson’s sandbox is running.');
    expect(await fourth.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await fourth.clock.resume();
    // In lesson order (galera comes before pxe).
    await expect(items.locator('a')).toHaveText([LESSONS[1].title, galera.title, LESSONS[2].title]);

    // The stopped lesson's page says what happened and offers to start it again.
    const stopped = pages[0]!;
    const message = 'You stopped this sandbox from another page. Reconnect to start it again: completed steps will be replayed.';
    await expect(stopped.locator('.notice')).toHaveText(message);
    await expect(terminal(stopped, gettingStarted)).toHaveAttribute('data-state', 'error');
    await expect(terminal(stopped, gettingStarted).locator('.terminal-status')).toHaveText(message);
    await expect(terminal(stopped, gettingStarted).getByRole('button', { name: 'Reconnect' })).toBeVisible();
    // The other two were left alone.
    await expect(terminal(pages[1]!, LESSONS[1])).toHaveAttribute('data-state', 'ready');
    await expect(terminal(pages[2]!, LESSONS[2])).toHaveAttribute('data-state', 'ready');
  } finally {
    await stopAll(context, baseURL!);
    await context.close();
  }
});

test('leaving lessons one after another in one tab: the fourth opens with no refusal, and the lists show and stop what runs', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const refusals = watchRefusals(page);
    for (const lesson of LESSONS) await openLesson(page, lesson);
    expect(refusals, 'the lesson left longest ago made room: nothing was refused').toEqual([]);
    await expect(page.locator('.notice')).toBeHidden();

    // The lesson page's list: opened by hand, refreshed when opened; its own lesson has no Stop here.
    const panel = page.locator('details.sandboxes-panel');
    await expect(panel).not.toHaveAttribute('open', '');
    await panel.locator('summary').click();
    const items = panel.locator('.sandboxes-list li');
    // In lesson order (galera comes before pxe); getting-started, left longest ago, made room.
    await expect(items.locator('a')).toHaveText([LESSONS[1].title, LESSONS[3].title, LESSONS[2].title]);
    await expect(items.nth(0).locator('.sandbox-state')).toHaveText(/^running · no tab open, left (just now|\d+ min ago)$/);
    await expect(items.nth(1).locator('.sandbox-state')).toHaveText('running · open in a tab · this page');
    await expect(items.nth(1).getByRole('button')).toHaveCount(0);
    await expect(items.nth(2).getByRole('button', { name: `Stop the sandbox of “${LESSONS[2].title}”` })).toBeVisible();
    await expect(panel.locator('.sandboxes-count')).toHaveText(/^3 of at most 3 running\./);

    // The index page lists them too, and stops one.
    await page.goto('/');
    const index = page.locator('details.sandboxes-panel');
    await index.getByText('Your sandboxes').click();
    await expect(index.locator('.sandboxes-list li a')).toHaveText([LESSONS[1].title, LESSONS[3].title, LESSONS[2].title]);
    await index.getByRole('button', { name: `Stop the sandbox of “${LESSONS[1].title}”` }).click();
    await expect(index.getByRole('status')).toContainText(`Stopped the sandbox of “${LESSONS[1].title}”`);
    await expect(index.locator('.sandboxes-list li a')).toHaveText([LESSONS[3].title, LESSONS[2].title]);
  } finally {
    await stopAll(context, baseURL!);
    await context.close();
  }
});
