/** Debian's chromium, headless, as the brief prescribes; and the two figures an attendee feels first. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { tmpdir } from 'node:os';
import { startFloorPage } from './floor-page.ts';
import { summarize, type LatencyRow } from './stats.ts';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.OPSLAB_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * The floor of navigation → prompt on this machine: the same navigation (a new context, a page
 * from loopback) and the same wait for the text, on a one-line static page served by a bare Node
 * server — what the browser, the machine and the measurement cost before any of ours.
 */
async function navigationFloor(browser: Browser, iterations: number): Promise<number[]> {
  const server = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html lang="en"><title>floor</title><pre id="floor">root@opslab:~# </pre></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const samples: number[] = [];
  try {
    for (let i = 0; i < iterations; i++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
      try {
        const page = await context.newPage();
        const started = performance.now();
        await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        await page.locator('#floor', { hasText: 'root@opslab:~#' }).waitFor();
        samples.push(performance.now() - started);
      } finally {
        await context.close();
      }
    }
  } finally {
    server.close();
  }
  return samples;
}

/**
 * Navigation → prompt on the plainest web terminal this machine can run: a bare xterm.js page on a
 * raw local bash (floor-page.ts) — no sandbox, no lesson page — what xterm.js, the browser and the
 * machine cost before any of ours.
 */
async function bareTerminalNavigation(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  try {
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(url);
    await page.locator('.xterm-rows', { hasText: 'root@raw:~#' }).waitFor();
    return performance.now() - started;
  } finally {
    await context.close();
  }
}

/** Navigation → prompt visible (a new attendee each time: a cold sandbox), then Check click → ✓/✗ shown. */
export async function benchPage(browser: Browser, url: string, iterations: number): Promise<LatencyRow[]> {
  const floor = await navigationFloor(browser, iterations);
  const bare = await startFloorPage(tmpdir());
  const bareToPrompt: number[] = [];
  const toPrompt: number[] = [];
  const clickToResult: number[] = [];
  for (let i = 0; i < iterations; i++) {
    // Alternating with the lesson page, so both meet the same moments of a noisy machine.
    bareToPrompt.push(await bareTerminalNavigation(browser, bare.url));
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
  await bare.close();
  return [
    { what: 'browser: navigation → text visible, a one-line static page from a bare Node server (the same wait)', samples: floor, target: 'floor' },
    { what: 'browser: navigation → prompt visible, a bare xterm.js page on a raw local bash (no sandbox, no lesson; the same wait)', samples: bareToPrompt, target: 'floor' },
    { what: 'browser: navigation → prompt visible (new attendee, cold sandbox; floor: the bare xterm.js page above)', samples: toPrompt, floor: bareToPrompt, target: 'p50 ≤ 500 ms', met: summarize(toPrompt).p50 <= 500 },
    { what: 'browser: Check click → ✓/✗ shown', samples: clickToResult, target: 'p95 ≤ 300 ms', met: summarize(clickToResult).p95 <= 300 },
  ];
}

/**
 * Navigation → terminal ready, per lesson in the agenda's order, a new attendee each time; with
 * `coldCloud`, once more for each lesson with shared services after stopping the room's control
 * plane (the first attendee of a day, or after a crash). Also returns the wait stages the page
 * showed, as the attendee read them.
 */
export async function benchLessonPages(
  browser: Browser,
  url: string,
  lessons: Array<{ slug: string; services: readonly string[] }>,
  options: { iterations: number; coldCloud: () => Promise<void> | undefined },
): Promise<{ latency: LatencyRow[]; stages: Map<string, string[]> }> {
  const latency: LatencyRow[] = [];
  const stages = new Map<string, string[]>();
  const open = async (slug: string): Promise<number> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      // Every text the wait panel shows, from the first paint on.
      await context.addInitScript(() => {
        const seen: string[] = ((window as unknown as { __stages: string[] }).__stages = []);
        new MutationObserver(() => {
          for (const el of document.querySelectorAll('.terminal-wait:not([hidden]) .wait-message')) {
            const text = el.textContent ?? '';
            if (text && seen[seen.length - 1] !== text) seen.push(text);
          }
        }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${url}/lessons/${slug}/`);
      await page.locator('opslab-terminal').first().and(page.locator('[data-state="ready"]')).waitFor({ timeout: 600_000 });
      const elapsed = performance.now() - started;
      const seen = await page.evaluate(() => (window as unknown as { __stages: string[] }).__stages);
      stages.set(slug, [...new Set([...(stages.get(slug) ?? []), ...seen])]);
      return elapsed;
    } finally {
      await context.close();
    }
  };
  for (const lesson of lessons) {
    const samples: number[] = [];
    // "Warm" means warm: the room's services are started once first (the cold row below times that).
    if (lesson.services.length > 0) await open(lesson.slug);
    for (let i = 0; i < options.iterations; i++) samples.push(await open(lesson.slug));
    latency.push({ what: `browser: navigation → terminal ready, ${lesson.slug}${lesson.services.length ? ' (its services warm)' : ''}`, samples, target: '—' });
  }
  for (const lesson of lessons.filter((l) => l.services.length > 0)) {
    const cold = options.coldCloud();
    if (!cold) break;
    await cold;
    latency.push({ what: `browser: navigation → terminal ready, ${lesson.slug} (cold: the room's ${lesson.services.join(', ')} stopped first)`, samples: [await open(`${lesson.slug}`)], target: '—' });
  }
  return { latency, stages };
}
