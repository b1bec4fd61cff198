/**
 * The attendee's 90 minutes: the whole agenda in one tab, in order, from the index through every
 * lesson's "Next" link, every step done by the page's own buttons — twice at once, as two
 * attendees of one room would: one on a laptop (1280×800), one on a phone (390×844). No lesson
 * may dead-end (the fourth used to be refused: three sandboxes already held), and no page may be
 * wider than its screen.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';

const screens = [
  { name: 'laptop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
] as const;

async function noHorizontalOverflow(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  expect(scrollWidth, `${page.url()} is wider than the screen`).toBeLessThanOrEqual(clientWidth);
}

async function walkTheAgenda(browser: Browser, screen: (typeof screens)[number]): Promise<string[]> {
  const context = await browser.newContext({ viewport: screen.viewport, isMobile: 'isMobile' in screen, hasTouch: 'hasTouch' in screen });
  const page = await context.newPage();
  const visited: string[] = [];
  try {
    await page.goto('/');
    await noHorizontalOverflow(page);
    const lessons = await page.locator('.lesson-card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.lesson!));
    await page.locator('.lesson-card a').first().click();
    for (const [index, slug] of lessons.entries()) {
      await expect(page).toHaveURL(new RegExp(`/lessons/${slug}/$`));
      visited.push(slug);
      await noHorizontalOverflow(page);
      const primary = page.locator('opslab-terminal').first();
      // The cloud may be (re)starting for the nova-shelving lesson: the wait shows what it is doing.
      await expect(primary, `${screen.name}: ${slug} gets a sandbox`).toHaveAttribute('data-state', 'ready', { timeout: 240_000 });
      const steps = page.locator('section.step');
      const count = await steps.count();
      for (let i = 0; i < count; i++) {
        const step = steps.nth(i);
        const id = await step.getAttribute('data-step');
        await step.locator('details.solution summary').click();
        await step.getByRole('button', { name: 'Solve it for me' }).click();
        await expect(step, `${screen.name}: ${slug}/${id}`).toHaveAttribute('data-state', 'solved', { timeout: 240_000 });
        // What the solve did is shown under the step.
        await expect(step.locator('.solve-trace pre.solve-script')).not.toBeEmpty();
      }
      await expect(page.locator('.step-count')).toHaveText(`${count} of ${count} done`);
      await noHorizontalOverflow(page);
      if (index < lessons.length - 1) await page.locator('.next-lesson a').click();
    }
    await page.goto('/');
    for (const slug of lessons) {
      await expect(page.locator(`.lesson-card[data-lesson="${slug}"] .progress-text`)).toHaveText(/^(\d+) of \1 steps/);
    }
    return visited;
  } finally {
    await context.close();
  }
}

test('two attendees, a laptop and a phone, walk the whole agenda in one tab each, every step by the page\'s buttons, to the end', async ({ browser }) => {
  test.setTimeout(1_500_000);
  const walks = await Promise.all(screens.map((screen) => walkTheAgenda(browser, screen)));
  expect(walks[0]).toEqual(walks[1]);
  expect(walks[0]!.length).toBeGreaterThanOrEqual(5);
});
