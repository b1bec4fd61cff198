/**
 * `npm run bench`: time to prompt and check round trips, measured against the real server and
 * Debian's chromium, each beside its floor (a raw local node-pty bash) in the same run.
 * Writes docs/benchmarks.md. Numbers are reported, never asserted.
 */
import { execSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn as spawnPty } from 'node-pty';
import { chromium } from 'playwright-core';
import { startApp } from '../sandbox-server/src/app.ts';
import { loadConfig } from '../sandbox-server/src/config.ts';
import { newAttendee, TestClient } from '../sandbox-server/test/helpers.ts';
import { measureStartCost } from './sandbox-start.ts';

const ITERATIONS = Number(process.env.OPSLAB_BENCH_ITERATIONS ?? 30);
const LESSON = 'getting-started';

interface Row {
  what: string;
  samples: number[];
  floor?: number[];
  target: string;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summary(samples: number[]): { min: number; p50: number; p95: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0]!, p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99) };
}

/** Floor: a raw local pty running the same bash, no sandbox, no WebSocket. */
async function rawPtyPrompt(): Promise<number> {
  const started = performance.now();
  const pty = spawnPty('/bin/bash', ['--norc', '-i'], { name: 'xterm-256color', cols: 80, rows: 24, env: { PS1: 'root@raw:~# ', PATH: '/usr/bin:/bin', TERM: 'xterm-256color' } });
  await new Promise<void>((resolve) => {
    let out = '';
    const sub = pty.onData((d) => {
      out += d;
      if (/# $/.test(out)) {
        sub.dispose();
        resolve();
      }
    });
  });
  const elapsed = performance.now() - started;
  pty.kill();
  return elapsed;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'opslab-bench-'));
  chmodSync(work, 0o755);
  const config = loadConfig({ port: 0, databasePath: join(work, 'bench.db'), stagingDir: join(work, 'staging'), uidBase: 720_000, uidCount: 2000, idleTimeoutMs: 1000 });
  // The check row measures latency back to back; the per-connection check budget would only add waits.
  config.connectionLimits = { ...config.connectionLimits, checks: { perSecond: 1000, burst: 1000 } };
  const app = await startApp(config);
  const rows: Row[] = [];
  try {
    // 1. Server side: WebSocket hello → first prompt byte, cold (a new attendee, so a new sandbox each time).
    const hello: number[] = [];
    const helloFloor: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const client = new TestClient(app.url, await newAttendee(app.url));
      await client.opened();
      const started = performance.now();
      await client.hello(LESSON);
      await client.until(() => /# $/.test(client.output), 'a prompt', 10_000);
      hello.push(performance.now() - started);
      await client.close();
      helloFloor.push(await rawPtyPrompt());
    }
    rows.push({ what: 'WS hello → first prompt (server side, cold sandbox incl. setup.sh)', samples: hello, floor: helloFloor, target: 'p50 ≤ 30 ms, p99 ≤ 100 ms' });

    // 2. Check round trip over the WebSocket (light step: a file test).
    const check: number[] = [];
    const client = new TestClient(app.url, await newAttendee(app.url));
    await client.hello(LESSON);
    await client.ready();
    for (let i = 0; i < ITERATIONS; i++) {
      const started = performance.now();
      await client.check('create-file');
      check.push(performance.now() - started);
    }
    await client.close();
    rows.push({ what: 'CHECK → CHECK_RESULT (ws client, light step)', samples: check, target: 'p95 ≤ 300 ms' });

    // 2b. The hardening's cost at start: the floor here is the same sandbox without cgroups and seccomp.
    const start = await measureStartCost(ITERATIONS, join(config.stagingDir, 'lessons', LESSON));
    rows.push({ what: 'sandbox create → ready (bwrap; floor: without cgroups + seccomp)', samples: start.hardenedCreate, floor: start.plainCreate, target: '—' });
    rows.push({ what: 'exec `true` in a sandbox (nsenter; floor: without cgroups + seccomp)', samples: start.hardenedExec, floor: start.plainExec, target: '—' });

    // 3. In the browser: navigation → prompt visible, and Check click → result shown.
    const browser = await chromium.launch({
      executablePath: process.env.OPSLAB_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const toPrompt: number[] = [];
    const clickToResult: number[] = [];
    try {
      const browserIterations = Math.min(ITERATIONS, 15);
      for (let i = 0; i < browserIterations; i++) {
        const context = await browser.newContext({ viewport: { width: 1400, height: 860 } }); // a new attendee each time
        const page = await context.newPage();
        const started = performance.now();
        await page.goto(`${app.url}/lessons/${LESSON}/`);
        await page.locator('opslab-terminal .xterm-rows', { hasText: 'root@opslab:~#' }).waitFor();
        toPrompt.push(performance.now() - started);
        const step = page.locator('section.step[data-step="create-file"]');
        const clicked = performance.now();
        await step.getByRole('button', { name: 'Check' }).click();
        await step.locator('output.feedback', { hasText: '✗' }).waitFor();
        clickToResult.push(performance.now() - clicked);
        await context.close();
      }
    } finally {
      await browser.close();
    }
    rows.push({ what: 'browser: navigation → prompt visible (new attendee, cold sandbox)', samples: toPrompt, target: 'p50 ≤ 500 ms' });
    rows.push({ what: 'browser: Check click → ✓/✗ shown', samples: clickToResult, target: 'p95 ≤ 300 ms' });
  } finally {
    await app.close();
    rmSync(work, { recursive: true, force: true });
  }
  report(rows);
}

function report(rows: Row[]): void {
  const fmt = (n: number) => n.toFixed(1);
  const lines = rows.map((row) => {
    const s = summary(row.samples);
    const floor = row.floor ? summary(row.floor) : undefined;
    const ratio = floor ? `${(s.p50 / floor.p50).toFixed(1)}× (floor p50 ${fmt(floor.p50)})` : '—';
    return `| ${row.what} | ${row.samples.length} | ${fmt(s.min)} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | ${ratio} | ${row.target} |`;
  });
  let commit = 'uncommitted';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${execSync('uname -sr', { encoding: 'utf8' }).trim()}`;
  const text = `# Benchmarks

Latest run of \`npm run bench\` (bench/run.ts). Times in milliseconds. Targets are what we aim for;
they are reported here, never asserted in tests. The floor is the same work done by a raw local
node-pty bash (no sandbox, no WebSocket) in the same run; for the two sandbox rows it is the same
sandbox without the hardening (no cgroups, no seccomp filter), so the ratio is the hardening's cost.

- date: ${new Date().toISOString()}
- commit: ${commit}
- machine: ${machine}

| what | n | min | p50 | p95 | p99 | vs floor (p50) | target |
|---|---|---|---|---|---|---|---|
${lines.join('\n')}

Not measured yet (the benchmarks issue): keystroke echo under load, output throughput into xterm.js,
a 150-attendee burst, idle cost per sandbox, capacity per profile, page weight.
`;
  console.log(text);
  writeFileSync(fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)), text);
}

await main();
process.exit(0);
