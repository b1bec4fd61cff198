/** Debian's chromium, headless, as the brief prescribes; and the two figures an attendee feels first. */
import { chromium, type Browser } from 'playwright-core';
import { summarize, type LatencyRow } from './stats.ts';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.OPSLAB_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Navigation → prompt visible (a new attendee each time: a cold sandbox), then Check click → ✓/✗ shown. */
export async function benchPage(browser: Browser, url: string, iterations: number): Promise<LatencyRow[]> {
  const toPrompt: number[] = [];
  const clickToResult: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    try {
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${url}/lessons/getting-started/`);
      await page.locator('opslab-terminal .xterm-rows', { hasText: 'root@opslab:~#' }).waitFor();
      toPrompt.push(performance.now() - started);
      const step = page.locator('section.step[data-step="create-file"]');
      const clicked = performance.now();
      await step.getByRole('button', { name: 'Check' }).click();
      await step.locator('output.feedback', { hasText: '✗' }).waitFor();
      clickToResult.push(performance.now() - clicked);
    } finally {
      await context.close();
    }
  }
  return [
    { what: 'browser: navigation → prompt visible (new attendee, cold sandbox)', samples: toPrompt, target: 'p50 ≤ 500 ms', met: summarize(toPrompt).p50 <= 500 },
    { what: 'browser: Check click → ✓/✗ shown', samples: clickToResult, target: 'p95 ≤ 300 ms', met: summarize(clickToResult).p95 <= 300 },
  ];
}
