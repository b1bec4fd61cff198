/**
 * Output throughput into a real xterm.js in Debian's chromium: `head -c N /dev/urandom | base64`
 * in an attendee's sandbox, shown by the lesson page (WebSocket, protocol, flow control), against
 * the floor — a raw local pty into a bare xterm.js page in the same browser. The page's flood tap
 * checks that every byte arrived (POSIX cksum of the payload vs. the sender's), and the server's
 * memory is sampled during the flood.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BenchAttendee } from './attendee.ts';
import { startFloorPage } from './floor-page.ts';
import type { BenchServer } from './server.ts';
import type { FigureRow } from './stats.ts';

const MiB = 1024 * 1024;
const tap = { path: new URL('./flood-tap.js', import.meta.url).pathname };

interface Flood {
  bytes: number;
  seconds: number;
  intact: boolean;
  detail: string;
}

/**
 * The flood, framed by SOH and EOT for the tap; the sender's cksum printed after it. tee copies the
 * flood into a FIFO read by the checksum job, which `wait` sees finish before the sum is printed.
 * All in a subshell: without job control, the shell prints no "[1]+ Done" into the flood when the
 * job ends. (Not `tee >(…)`: that process substitution belongs to the pipeline's subshell, so
 * `wait` cannot wait for it; not /dev/fd/N: the terminal cannot be reopened inside the sandbox.)
 */
function floodCommand(bytes: number): string {
  return `(rm -f flood.fifo; mkfifo flood.fifo; tr -d '\\n' < flood.fifo | cksum > flood.sum & printf '\\001'; head -c ${bytes} /dev/urandom | base64 | tee flood.fifo; printf '\\004'; wait; echo "SUM $(cat flood.sum)")`;
}

async function flood(page: Page, bytes: number): Promise<Flood> {
  await page.locator('.xterm-helper-textarea').first().focus();
  await page.keyboard.type(floodCommand(bytes));
  await page.keyboard.press('Enter');
  // The sender's sum arrives after the flood, in the same output stream the tap reads. Waited for
  // as long as the flood takes at 1 MB/s (a slow machine showed 5 MB/s: 60 s for 200 MB was too tight).
  const shownBytes = (bytes * 4) / 3;
  const handle = await page
    .waitForFunction(() => /SUM \d+ \d+/.exec((globalThis as unknown as { __opslabFlood: { after: string } }).__opslabFlood.after)?.[0], undefined, { timeout: Math.max(60_000, shownBytes / 1_000), polling: 200 })
    .catch(async (error: Error) => {
      const state = await page.evaluate(() => JSON.stringify((globalThis as unknown as { __opslabFlood: unknown }).__opslabFlood));
      throw new Error(`${error.message}\nthe tap: ${state}\nthe screen: ${await page.locator('.xterm-rows').first().textContent()}`);
    });
  const sent = ((await handle.jsonValue()) as string).slice(4);
  const seen = await page.evaluate(() => (globalThis as unknown as { __opslabFlood: { bytes: number; startedAt: number; endedAt: number; cksum: string; odd: string } }).__opslabFlood);
  return { bytes: seen.bytes, seconds: (seen.endedAt - seen.startedAt) / 1000, intact: seen.cksum === sent, detail: `sent ${sent}, shown ${seen.cksum}${seen.odd ? `, not base64 in the flood: ${JSON.stringify(seen.odd)}` : ''}` };
}

export interface ThroughputOptions {
  /** Bytes of /dev/urandom base64-encoded into the browser terminal. */
  floodBytes: number;
  /** ws clients flooding at once for the per-terminal memory figure, and how much each. */
  concurrent: number;
  concurrentBytes: number;
}

export async function benchThroughput(browser: Browser, server: BenchServer, options: ThroughputOptions): Promise<FigureRow[]> {
  const bytes = options.floodBytes;
  // Ours: the lesson page of a new attendee.
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  await context.addInitScript(tap);
  const page = await context.newPage();
  await page.goto(`${server.url}/lessons/getting-started/`);
  await page.locator('opslab-terminal .xterm-rows', { hasText: 'root@opslab:~#' }).waitFor();
  const baseline = server.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, server.rss())), 100);
  let ours: Flood;
  try {
    ours = await flood(page, bytes);
  } finally {
    clearInterval(sampler);
    await context.close();
  }

  // The floor: a raw pty into a bare xterm.js, same browser, same flow control.
  const cwd = mkdtempSync(join(tmpdir(), 'opslab-bench-floor-'));
  const floorPage = await startFloorPage(cwd);
  const floorContext = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  let floor: Flood;
  try {
    await floorContext.addInitScript(tap);
    const page = await floorContext.newPage();
    await page.goto(floorPage.url);
    await page.locator('.xterm-rows', { hasText: 'root@raw:~#' }).waitFor();
    floor = await flood(page, bytes);
  } finally {
    await floorContext.close();
    await floorPage.close();
    rmSync(cwd, { recursive: true, force: true });
  }

  const many = await concurrentFloods(server, options.concurrent, options.concurrentBytes);

  const rate = (f: Flood) => f.bytes / f.seconds / 1e6;
  const ratio = rate(ours) / rate(floor);
  const growth = (peak - baseline) / MiB;
  return [
    {
      what: `output throughput into xterm.js in chromium (\`head -c ${Math.round(bytes / MiB)}M /dev/urandom | base64\`, ${(ours.bytes / 1e6).toFixed(0)} MB shown)`,
      value: `${rate(ours).toFixed(1)} MB/s = ${(ratio * 100).toFixed(0)} % of the floor`,
      floor: `${rate(floor).toFixed(1)} MB/s (raw pty → bare xterm.js page)`,
      target: '≥ 50 % of the raw pty → xterm',
      met: ratio >= 0.5,
    },
    {
      what: 'bytes lost during that flood (POSIX cksum of what the page got vs. what the sandbox sent)',
      value: ours.intact && floor.intact ? '0 (checksums equal)' : `checksums differ: ${ours.detail}; floor ${floor.detail}`,
      target: 'no byte lost',
      met: ours.intact,
    },
    {
      what: `server memory during floods: RSS peak − before, per flooding terminal (${many.terminals} ws clients flooding at once, ${Math.round(many.bytes / 1e6)} MB in all)`,
      value: `${(many.growth / many.terminals / MiB).toFixed(1)} MiB per terminal (${(many.growth / MiB).toFixed(1)} MiB in all)`,
      target: '≤ 8 MiB per terminal',
      met: many.growth / many.terminals <= 8 * MiB,
      note: `with the one browser terminal above: +${growth.toFixed(1)} MiB — mostly V8's young generation filling with short-lived output buffers, a cost per process rather than per terminal`,
    },
  ];
}

/** `terminals` attendees flood at once (ws clients reading as fast as they can); the server's RSS is sampled. */
async function concurrentFloods(server: BenchServer, terminals: number, bytes: number): Promise<{ terminals: number; growth: number; bytes: number }> {
  const attendees = await Promise.all(Array.from({ length: terminals }, () => BenchAttendee.join(server.url, 'getting-started')));
  try {
    const baseline = server.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, server.rss())), 100);
    try {
      // The quotes keep the command's own echo from matching the end marker.
      for (const a of attendees) a.type(`head -c ${bytes} /dev/urandom | base64; echo FLOOD""-END\r`);
      await Promise.all(attendees.map((a) => a.until(() => a.tail.includes('FLOOD-END'), 'the end of a flood', 300_000)));
    } finally {
      clearInterval(sampler);
    }
    return { terminals, growth: peak - baseline, bytes: attendees.reduce((sum, a) => sum + a.bytes, 0) };
  } finally {
    for (const a of attendees) a.close();
  }
}
