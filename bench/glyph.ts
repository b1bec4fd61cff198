/**
 * Keystroke → glyph in the page: what an attendee feels when typing. Timed inside the page, from
 * the key's `keydown` to the DOM mutation that puts its echo on the terminal's rows (xterm.js's DOM
 * renderer writes the rows in the frame it paints them in). The floor is the bare xterm.js page on
 * a raw local bash (floor-page.ts) at the same size; keystrokes alternate between the two pages,
 * so both meet the same moments of a noisy machine.
 */
import { tmpdir } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { startFloorPage } from './floor-page.ts';
import { summarize, type LatencyRow } from './stats.ts';

/** A line's worth of letters, then Ctrl-U: the line never wraps, and nothing typed repeats on screen. */
const LINE = 'qwertyuiopasdfghjklzxcvbnm';

/**
 * Installs the page's clock: after `__arm(typed)`, `__glyph` resolves with the time from the next
 * keydown to the terminal showing `typed` — seen as the DOM renderer's mutation of the rows, or,
 * for a renderer that draws on a canvas (WebGL), as xterm.js's render event on a bare page.
 */
async function instrument(page: Page, clock: { rows: string } | 'render-event'): Promise<void> {
  const install = (shown: (check: () => void) => () => string) => {
    let keydown = 0;
    let pending: { before: string; typed: string; resolve: (ms: number) => void } | undefined;
    document.addEventListener('keydown', () => (keydown = performance.now()), true);
    const text = shown(() => {
      const now = text();
      if (pending && now !== pending.before && now.includes(pending.typed)) {
        pending.resolve(performance.now() - keydown);
        pending = undefined;
      }
    });
    const hooks = window as unknown as { __arm: (typed: string) => void; __glyph: Promise<number> };
    hooks.__arm = (typed) => {
      hooks.__glyph = new Promise((resolve) => (pending = { before: text(), typed, resolve }));
    };
  };
  // Run in the page from its source (a string): the bare page's `term` is a script's top-level
  // const, not a window property, so only a script sees it.
  const shown =
    clock === 'render-event'
      ? `(check) => {
          term.onRender(check);
          const buffer = () => term.buffer.active;
          return () => buffer().getLine(buffer().baseY + buffer().cursorY).translateToString(true);
        }`
      : `(check) => {
          const rows = document.querySelector(${JSON.stringify(clock.rows)});
          new MutationObserver(check).observe(rows, { subtree: true, childList: true, characterData: true });
          return () => rows.textContent ?? '';
        }`;
  await page.evaluate(`(${install.toString()})(${shown})`);
}

interface Typing {
  page: Page;
  typed: string;
  samples: number[];
}

/** How long a glyph may take before the run gives up on the page (it never takes more than a fraction of this). */
const GLYPH_PATIENCE_MS = 10_000;

/** Types the next letter and records how long its glyph took. */
async function typeOne(typing: Typing): Promise<void> {
  if (typing.typed.length === LINE.length) {
    await typing.page.keyboard.press('Control+U');
    typing.typed = '';
    await typing.page.waitForTimeout(50);
  }
  const key = LINE[typing.typed.length]!;
  typing.typed += key;
  await typing.page.evaluate((typed) => (window as unknown as { __arm: (t: string) => void }).__arm(typed), typing.typed);
  await typing.page.keyboard.press(key);
  const glyph = typing.page.evaluate(() => (window as unknown as { __glyph: Promise<number> }).__glyph);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no glyph for "${key}" on ${typing.page.url()} within ${GLYPH_PATIENCE_MS} ms`)), GLYPH_PATIENCE_MS)));
  try {
    typing.samples.push(await Promise.race([glyph, late]));
  } finally {
    clearTimeout(timer);
  }
}

/** A bare page's terminal at the lesson terminal's size, the keyboard in it, the screen clear. */
async function openBare(browser: Browser, url: string, cols: number, rows: number): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 860 } })).newPage();
  await page.goto(url);
  await page.waitForFunction('term.buffer.active.getLine(term.buffer.active.cursorY)?.translateToString().includes("root@raw:~#")');
  // A string, not a function: the page's `term` is a script's top-level const, not a window property.
  await page.evaluate(`term.resize(${cols}, ${rows}); term.focus()`);
  await page.keyboard.press('Control+L');
  return page;
}

export async function benchGlyph(browser: Browser, url: string, samples: number): Promise<LatencyRow[]> {
  const bare = await startFloorPage(tmpdir());
  const lessonContext = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const pages: Page[] = [];
  try {
    const lesson = await lessonContext.newPage();
    await lesson.goto(`${url}/lessons/getting-started/`);
    const lessonRows = 'opslab-terminal .xterm-rows';
    await lesson.locator(lessonRows, { hasText: 'root@opslab:~#' }).waitFor();
    await lesson.locator('opslab-terminal .xterm-screen').click();
    // The floor at the lesson terminal's size: the shell says it.
    await lesson.keyboard.type('stty size\n');
    const said = await lesson.locator(lessonRows).filter({ hasText: /\d+ \d+/ }).textContent();
    const [rows, cols] = /(\d+) (\d+)/.exec(said!.replace(/\u00a0/g, ' ').split('stty size')[1] ?? '')!.slice(1).map(Number) as [number, number];
    await lesson.keyboard.press('Control+L');
    const floor = await openBare(browser, bare.url, cols, rows);
    pages.push(floor);
    // The WebGL renderer, where chromium has no GPU, draws with SwiftShader (software GL); a
    // browser without WebGL 2 has no such row.
    const gl = await rendererOf(lesson);
    const webgl = gl ? await openBare(browser, `${bare.url}webgl`, cols, rows) : undefined;
    if (webgl) pages.push(webgl);

    await instrument(lesson, { rows: lessonRows });
    await instrument(floor, { rows: '.xterm-rows' });
    if (webgl) await instrument(webgl, 'render-event');
    const typings: Typing[] = [lesson, floor, ...(webgl ? [webgl] : [])].map((page) => ({ page, typed: '', samples: [] }));
    for (let i = 0; i < samples; i++) {
      // Each page in turn, the order rotating, so that all meet the same moments of a noisy machine.
      for (let j = 0; j < typings.length; j++) {
        const typing = typings[(i + j) % typings.length]!;
        await typeOne(typing);
        // A typist's pace: the glyph has long been painted before the next key.
        await typing.page.waitForTimeout(60);
      }
    }
    const [ours, bareSamples, webglSamples] = typings.map((t) => t.samples) as [number[], number[], number[] | undefined];
    const size = `${cols}×${rows}`;
    return [
      { what: `browser: keystroke → glyph in the page, a bare xterm.js page on a raw local bash (${size}, DOM renderer)`, samples: bareSamples, target: 'floor' },
      ...(webglSamples ? [{ what: `browser: keystroke → glyph in the page, the same bare page with xterm.js's WebGL renderer (${gl}; timed by xterm.js's render event)`, samples: webglSamples, floor: bareSamples, target: '—' }] : []),
      {
        what: `browser: keystroke → glyph in the page, lesson page (sandboxed bash, ${size}, DOM renderer; floor: the bare DOM page above)`,
        samples: ours,
        floor: bareSamples,
        target: 'p50 ≤ 1.2× the floor, p99 ≤ 20 ms',
        met: summarize(ours).p50 <= 1.2 * summarize(bareSamples).p50 && summarize(ours).p99 <= 20,
      },
    ];
  } finally {
    await lessonContext.close();
    for (const page of pages) await page.context().close();
    await bare.close();
  }
}

/** What draws WebGL 2 in this browser (a GPU's name, or SwiftShader's); undefined without WebGL 2. */
async function rendererOf(page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return undefined;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : 'WebGL 2';
  });
}
