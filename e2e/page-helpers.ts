/** Helpers shared by the page-level e2e tests (accessibility, layout, the lesson loop, the room). */
import { spawnSync } from 'node:child_process';
import { expect, type Page } from '@playwright/test';

/** Every lesson page the index links to, in the index's order. */
export async function lessonPaths(page: Page): Promise<string[]> {
  await page.goto('/');
  const hrefs = await page.locator('a[href^="/lessons/"]').evaluateAll((links) => links.map((a) => new URL((a as HTMLAnchorElement).href).pathname));
  return [...new Set(hrefs)];
}

/**
 * Opens a lesson page and waits until its script has run (terminals opened, code blocks enhanced).
 * Unless `live`, the terminals' WebSocket is answered by a silent stand-in: the page is what is
 * under test, and a real sandbox (an OpenStack cloud, a Galera cluster) would only cost time.
 */
export async function openLesson(page: Page, path: string, { live = false } = {}): Promise<void> {
  if (!live) await page.routeWebSocket(/\/ws/, () => undefined);
  await page.goto(path);
  const terminals = page.locator('opslab-terminal');
  await expect(terminals.first()).toBeAttached();
  await expect(page.locator('opslab-terminal .xterm')).toHaveCount(await terminals.count());
  await expect(page.locator('main.lesson-page')).toHaveAttribute('data-ui', 'ready');
}

export const terminalScreen = (page: Page, id = 'main') => page.locator(`opslab-terminal[data-terminal="${id}"] .xterm-rows`);

/** Types a command line into a terminal as a person would: focus, keys, Enter. */
export async function typeInTerminal(page: Page, text: string, id = 'main'): Promise<void> {
  await page.locator(`opslab-terminal[data-terminal="${id}"] .xterm-helper-textarea`).focus();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

/**
 * A build of other lessons (OPSLAB_LESSONS_DIR, its own --outDir) or astro dev on them leaves the
 * project's .astro/ without this project's content types (or without .astro/ at all): `tsc -b`
 * after the suite would fail. The tests that do so give it back with `astro sync`.
 */
export function restoreAstroTypes(root: string): void {
  const { OPSLAB_LESSONS_DIR: _other, ...env } = process.env;
  const sync = spawnSync('npx', ['astro', 'sync'], { cwd: root, env, encoding: 'utf8' });
  if (sync.status !== 0) throw new Error(`astro sync failed: ${sync.stdout}${sync.stderr}`);
}
