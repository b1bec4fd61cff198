/**
 * Time to a prompt and check round trips over the WebSocket, measured from a ws client: a new
 * attendee each time (a cold sandbox, no pool), beside a raw local pty starting the same bash.
 * Also what the sandbox hardening costs at start (sandbox-start.ts).
 */
import { join } from 'node:path';
import { startApp } from '../sandbox-server/src/app.ts';
import { loadConfig } from '../sandbox-server/src/config.ts';
import { newAttendee, TestClient } from '../sandbox-server/test/helpers.ts';
import { RawPtyShell } from './raw-pty.ts';
import { measureStartCost } from './sandbox-start.ts';
import { summarize, type LatencyRow } from './stats.ts';

const LESSON = 'getting-started';

async function rawPtyPrompt(): Promise<number> {
  const started = performance.now();
  const shell = new RawPtyShell();
  await shell.prompt();
  const elapsed = performance.now() - started;
  shell.kill();
  return elapsed;
}

export async function benchLatency(iterations: number, work: string, uidBase: number): Promise<LatencyRow[]> {
  const config = loadConfig({ port: 0, databasePath: join(work, 'latency.db'), stagingDir: join(work, 'staging'), uidBase, uidCount: 2000, idleTimeoutMs: 1000 });
  // The check row measures latency back to back; the per-connection check budget would only add waits.
  config.connectionLimits = { ...config.connectionLimits, checks: { perSecond: 1000, burst: 1000 } };
  const app = await startApp(config);
  const rows: LatencyRow[] = [];
  try {
    const hello: number[] = [];
    const helloFloor: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const client = new TestClient(app.url, await newAttendee(app.url));
      await client.opened();
      const started = performance.now();
      await client.hello(LESSON);
      await client.until(() => /# $/.test(client.output), 'a prompt', 10_000);
      hello.push(performance.now() - started);
      await client.close();
      helloFloor.push(await rawPtyPrompt());
    }
    const { p50, p99 } = summarize(hello);
    rows.push({ what: 'WS hello → first prompt (server side, cold sandbox incl. setup.sh)', samples: hello, floor: helloFloor, target: 'p50 ≤ 30 ms, p99 ≤ 100 ms', met: p50 <= 30 && p99 <= 100 });

    // A light step: check.sh tests a file.
    const check: number[] = [];
    const client = new TestClient(app.url, await newAttendee(app.url));
    await client.hello(LESSON);
    await client.ready();
    for (let i = 0; i < iterations; i++) {
      const started = performance.now();
      await client.check('create-file');
      check.push(performance.now() - started);
    }
    await client.close();
    rows.push({ what: 'CHECK → CHECK_RESULT (ws client, light step)', samples: check, target: 'p95 ≤ 300 ms', met: summarize(check).p95 <= 300 });

    // The floor here is the same sandbox without cgroups and seccomp: the ratio is the hardening's cost.
    const start = await measureStartCost(iterations, join(config.stagingDir, 'lessons', LESSON));
    rows.push({ what: 'sandbox create → ready (bwrap; floor: without cgroups + seccomp)', samples: start.hardenedCreate, floor: start.plainCreate, target: '—' });
    rows.push({ what: 'exec `true` in a sandbox (nsenter; floor: without cgroups + seccomp)', samples: start.hardenedExec, floor: start.plainExec, target: '—' });
  } finally {
    await app.close();
  }
  return rows;
}
