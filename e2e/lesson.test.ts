/**
 * The attendee's path in a real browser (Debian chromium) against the real built site and server:
 * open the lesson, get a prompt, type, Check ✗, do the step, Check ✓, reload into the same shell,
 * see progress on the index page.
 */
import { expect, test, type Page } from '@playwright/test';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '../sandbox-server/test/server-process.ts';
import { startOwnServer } from './own-server.ts';
import { terminalScreen as screen, typeInTerminal } from './page-helpers.ts';

test('the lesson loop: prompt, Check fails, do the step, Check passes, reload keeps the shell, progress on the index', async ({ page }) => {
  const started = Date.now();
  await page.goto('/lessons/getting-started/');
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  await expect(screen(page)).toContainText('root@opslab:~#');
  test.info().annotations.push({ type: 'page load → prompt (ms)', description: String(Date.now() - started) });

  await typeInTerminal(page, 'echo "answer=$((6*7))"');
  await expect(screen(page)).toContainText('answer=42');

  const step = page.locator('section.step[data-step="create-file"]');
  await step.getByRole('button', { name: 'Check' }).click();
  await expect(step.locator('output.feedback')).toContainText('✗ There is no ~/hello.txt yet.');
  await expect(step).toHaveAttribute('data-state', 'failed');

  // Click-to-run: the ▶ Run button types the block into the terminal.
  await step.locator('.code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(screen(page)).toContainText('Hello, Opslab!');

  const clicked = Date.now();
  await step.getByRole('button', { name: 'Check' }).click();
  await expect(step.locator('output.feedback')).toContainText('✓ ~/hello.txt says Hello, Opslab!');
  test.info().annotations.push({ type: 'Check click → result (ms)', description: String(Date.now() - clicked) });
  await expect(step).toHaveAttribute('data-state', 'passed');
  await expect(page.locator('.step-list li[data-step="create-file"]')).toHaveAttribute('data-state', 'passed');
  await expect(page.locator('.step-count')).toHaveText('1 of 4 done');

  await typeInTerminal(page, 'export KEPT=across-$((1+1))-reloads');
  await page.reload();
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  await expect(step).toHaveAttribute('data-state', 'passed');
  await typeInTerminal(page, 'echo "kept=$KEPT"');
  await expect(screen(page)).toContainText('kept=across-2-reloads');

  // The README's screenshot: refreshed with OPSLAB_UPDATE_SCREENSHOT=1 so that test runs leave the tree clean.
  const shot = process.env.OPSLAB_UPDATE_SCREENSHOT ? '../docs/screenshot.png' : '../test-results/lesson-page.png';
  await page.screenshot({ path: fileURLToPath(new URL(shot, import.meta.url)) });

  await page.goto('/');
  await expect(page.locator('.lesson-card[data-lesson="getting-started"] .progress-text')).toHaveText('1 of 4 steps');
});

/** Every WebSocket the page opens, with how many text frames (a hello is the only one) it sent. */
function socketsOf(page: Page): Array<{ url: string; textFrames: number }> {
  const sockets: Array<{ url: string; textFrames: number }> = [];
  page.on('websocket', (ws) => {
    const socket = { url: ws.url(), textFrames: 0 };
    sockets.push(socket);
    ws.on('framesent', (frame) => typeof frame.payload === 'string' && socket.textFrames++);
  });
  return sockets;
}

test('the cursor stays solid while the attendee types and blinks while they pause, with no endless animation to wait for', async ({ page }) => {
  await page.goto('/lessons/getting-started/');
  const terminal = page.locator('opslab-terminal[data-terminal="main"]');
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  await expect(screen(page)).toContainText('root@opslab:~#');
  await terminal.locator('.xterm-helper-textarea').focus();
  /** The cursor as the page paints it: its colour, and whether it is the focused (block) cursor, not the inactive outline. */
  const paint = (cursor: Element) => ({ colour: getComputedStyle(cursor).backgroundColor, block: cursor.classList.contains('xterm-cursor-block') });
  // Read at each echo, in the same task as the echo's rows.
  await screen(page).evaluate((rows, paintSource) => {
    const paintOf = new Function(`return ${paintSource}`)() as (cursor: Element) => unknown;
    const seen: unknown[] = [];
    (window as unknown as { cursorAtEchoes: unknown[] }).cursorAtEchoes = seen;
    new MutationObserver(() => {
      const cursor = rows.querySelector('.xterm-cursor');
      if (cursor) seen.push(paintOf(cursor));
    }).observe(rows, { subtree: true, childList: true, characterData: true });
  }, paint.toString());
  await page.keyboard.type('echo typed', { delay: 150 });
  await expect(screen(page)).toContainText('echo typed');
  const atEchoes = await page.evaluate(() => (window as unknown as { cursorAtEchoes: Array<{ colour: string; block: boolean }> }).cursorAtEchoes);
  // Keys may share a frame on a busy machine: fewer renders than keys, but several.
  expect(atEchoes.length).toBeGreaterThanOrEqual(3);
  const transparent = 'rgba(0, 0, 0, 0)';
  const shown = atEchoes.at(-1)!;
  expect(shown.block).toBe(true);
  expect(atEchoes.filter((cursor) => !cursor.block || cursor.colour === transparent), 'the cursor was hidden at an echo').toEqual([]);
  // Paused: the focused cursor shows and hides.
  const cursor = screen(page).locator('.xterm-cursor');
  const seen = new Set<string>();
  const paintedSoFar = async () => {
    const now = await cursor.evaluate((el, paintSource) => (new Function(`return ${paintSource}`)() as (c: Element) => { colour: string; block: boolean })(el), paint.toString());
    seen.add(`${now.block ? 'block' : 'outline'} ${now.colour}`);
    return [...seen].sort();
  };
  await expect.poll(paintedSoFar, { timeout: 10_000, intervals: [100] }).toEqual([`block ${shown.colour}`, `block ${transparent}`].sort());
  // Nothing animates endlessly on the page (with an endless CSS animation chromium paints on its
  // clock: every echo waited for the next frame), not even when a program asks xterm.js for its
  // blinking cursor (CSI ?12h, as `tput cvvis` sends).
  const animations = () => page.evaluate(() => document.getAnimations().map((a) => (a as CSSAnimation).animationName ?? a.id));
  expect(await animations()).toEqual([]);
  await page.keyboard.press('Control+U');
  await page.keyboard.type("printf '\\e[?12h'; echo asked-to-blink\n");
  await expect(screen(page)).toContainText(/asked-to-blink.*root@opslab/);
  await expect(terminal.locator('.xterm-cursor.xterm-cursor-blink')).toHaveCount(1);
  expect(await animations()).toEqual([]);
});

test('the page opens its terminal\'s socket from its <head>, the hello in the URL; refused, the terminal connects the usual way', async ({ browser }) => {
  // A new attendee, as the page finds them: the page's own response issues the identity cookie.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const sockets = socketsOf(page);
    await page.goto('/lessons/getting-started/');
    await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
    await expect(screen(page)).toContainText('root@opslab:~#');
    expect(sockets).toHaveLength(1);
    const hello = JSON.parse(new URL(sockets[0]!.url).searchParams.get('hello') ?? 'null');
    expect(hello).toMatchObject({ type: 'hello', lesson: 'getting-started', terminal: 'main' });
    expect(sockets[0]!.textFrames, 'no hello frame: it was in the URL').toBe(0);
    // The terminal told the server its real size (the URL's hello said 80×24).
    await typeInTerminal(page, 'stty size');
    const [cols, rows] = await page.locator('opslab-terminal[data-terminal="main"]').evaluate((el) => [el.dataset.cols, el.dataset.rows]);
    await expect(screen(page)).toContainText(`${rows} ${cols}`);
    expect(`${cols}x${rows}`).not.toBe('80x24');

    // The early socket closed (here: at once), the terminal opens its own and says hello in it.
    const fallback = await context.newPage();
    const fallbackSockets = socketsOf(fallback);
    await fallback.routeWebSocket(/\/ws\?hello=/, (ws) => ws.close());
    await fallback.goto('/lessons/zerovm/');
    await expect(fallback.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
    const plain = fallbackSockets.filter((socket) => !socket.url.includes('?'));
    expect(plain.map((socket) => [new URL(socket.url).pathname, socket.textFrames])).toEqual([['/ws', 1]]);
  } finally {
    await context.close();
  }
});

test('Solve it for me runs solve.sh and marks the step solved with help; the answer step takes an answer', async ({ page }) => {
  await page.goto('/lessons/getting-started/');
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  for (const id of ['create-file', 'start-server']) {
    const step = page.locator(`section.step[data-step="${id}"]`);
    await step.locator('details.solution summary').click();
    await step.getByRole('button', { name: 'Solve it for me' }).click();
    await expect(step.locator('output.feedback')).toContainText('(solved for you)');
    await expect(step).toHaveAttribute('data-state', 'solved');
  }
  const header = page.locator('section.step[data-step="read-header"]');
  await header.getByRole('textbox').fill('Apache');
  await header.getByRole('button', { name: 'Check' }).click();
  await expect(header.locator('output.feedback')).toContainText('✗ "Apache" is not what the server sends');
  await typeInTerminal(page, 'curl -sI localhost:8000/hello.txt | grep Server');
  await expect(screen(page)).toContainText(/Server: SimpleHTTP\/[\d.]+ Python\/[\d.]+/);
  const value = (await screen(page).textContent())!.match(/Server: (SimpleHTTP\/[\d.]+ Python\/[\d.]+)/)![1]!;
  await header.getByRole('textbox').fill(value);
  await header.getByRole('button', { name: 'Check' }).click();
  await expect(header.locator('output.feedback')).toContainText('✓ Right');
});

test('Reset lesson asks first, then starts the lesson over: steps unchecked, a fresh sandbox without the work', async ({ page }) => {
  await page.goto('/lessons/getting-started/');
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  const step = page.locator('section.step[data-step="create-file"]');
  await step.locator('details.solution summary').click();
  await step.getByRole('button', { name: 'Solve it for me' }).click();
  await expect(step).toHaveAttribute('data-state', 'solved');
  // Declined: nothing happens.
  page.once('dialog', (dialog) => void dialog.dismiss());
  await page.getByRole('button', { name: 'Reset lesson' }).click();
  await expect(step).toHaveAttribute('data-state', 'solved');
  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: 'Reset lesson' }).click();
  await expect(page.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.locator('.step-count')).toHaveText('0 of 4 done');
  await expect(step).not.toHaveAttribute('data-state', 'solved');
  await typeInTerminal(page, 'cat ~/hello.txt || echo gone-$((3*3))');
  await expect(screen(page)).toContainText('gone-9');
});

test('the theme toggle switches light and dark; narrow screens show the text or the terminal, switched at the top', async ({ page }) => {
  await page.goto('/lessons/getting-started/');
  const html = page.locator('html');
  const before = await html.getAttribute('data-theme');
  await page.getByRole('button', { name: 'Switch between light and dark theme' }).click();
  await expect(html).not.toHaveAttribute('data-theme', before!);
  await page.setViewportSize({ width: 600, height: 900 });
  const views = page.getByRole('group', { name: 'Show' });
  await expect(page.locator('.lesson-text')).toBeVisible();
  await expect(page.locator('.terminals')).toBeHidden();
  await views.getByRole('button', { name: 'Terminal' }).click();
  await expect(page.locator('.terminals')).toBeVisible();
  // The text is off the screen; only its h1 stays, visually hidden, for screen readers.
  await expect(page.locator('.lesson-text .step').first()).toBeHidden();
  expect((await page.locator('.lesson-text').boundingBox())!.width).toBeLessThanOrEqual(1);
  await expect(page.getByRole('heading', { level: 1 })).toHaveCount(1);
  const terminals = (await page.locator('.terminals').boundingBox())!;
  expect(terminals.width).toBeGreaterThanOrEqual(590);
  await views.getByRole('button', { name: 'Lesson' }).click();
  await expect(page.locator('.lesson-text')).toBeVisible();
});

/** A TCP relay between the browser and the server whose connections the test can cut: a real outage. */
async function cuttableRelay(target: number): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('losing the network: the terminal says so, reconnects by itself, and finds the same shell', async ({ page }) => {
  // The page is served through the relay, so the relay's address is where the workshop is public.
  const port = await freePort();
  const relay = await cuttableRelay(port);
  const server = await startOwnServer({ OPSLAB_PUBLIC_ORIGINS: relay.url }, port);
  try {
    await page.goto(`${relay.url}/lessons/getting-started/`);
    const terminal = page.locator('opslab-terminal[data-terminal="main"]');
    await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
    await typeInTerminal(page, 'export BEFORE_OUTAGE=still-$((2+3))');
    await expect(screen(page)).toContainText('BEFORE_OUTAGE');
    relay.cut();
    await expect(terminal.locator('.terminal-status')).toContainText('connection lost');
    await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
    await typeInTerminal(page, 'echo "value=$BEFORE_OUTAGE"');
    await expect(screen(page)).toContainText('value=still-5');
  } finally {
    relay.cut();
    await relay.close();
    await server.stop();
  }
});

test('two tabs of one lesson: the newer takes the terminal, and the older takes it back when the newer closes', async ({ context }) => {
  const older = await context.newPage();
  await older.goto('/lessons/getting-started/');
  const terminal = (page: typeof older) => page.locator('opslab-terminal[data-terminal="main"]');
  await expect(terminal(older)).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  await typeInTerminal(older, 'export TAB=older-$((1+1))');

  const newer = await context.newPage();
  await newer.goto('/lessons/getting-started/');
  await expect(terminal(newer)).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  await expect(terminal(older)).toHaveAttribute('data-state', 'error');
  await expect(terminal(older).locator('.terminal-status')).toContainText('opened in another tab');
  await expect(terminal(older).getByRole('button', { name: 'Use it here' })).toBeVisible();

  await newer.close();
  await expect(terminal(older)).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });
  await typeInTerminal(older, 'echo "tab=$TAB"');
  await expect(screen(older)).toContainText('tab=older-2');
  await older.close();
});

test('a full workshop says so on the page, keeps retrying, and starts the lesson once a sandbox is free', async ({ browser }) => {
  const server = await startOwnServer({ OPSLAB_MAX_SANDBOXES: '1', OPSLAB_IDLE_TIMEOUT_MS: '1000' });
  const first = await browser.newPage({ baseURL: server.url });
  const second = await browser.newPage({ baseURL: server.url });
  try {
    await first.goto('/lessons/getting-started/');
    await expect(first.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 20_000 });

    await second.goto('/lessons/getting-started/');
    await expect(second.locator('.notice')).toContainText('The workshop is full: all 1 sandboxes are in use');
    await expect(second.locator('opslab-terminal .terminal-status')).toContainText(/workshop is full.*retrying in/);

    await first.close(); // its sandbox is reaped after the idle timeout; the waiting page gets it
    await expect(second.locator('opslab-terminal[data-terminal="main"]')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    await expect(second.locator('.notice')).toBeHidden();
    await expect(screen(second)).toContainText('root@opslab:~#');
  } finally {
    await Promise.all([first.close(), second.close()]);
    await server.stop();
  }
});
