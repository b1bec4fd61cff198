/**
 * Time to a prompt and check round trips over the WebSocket, measured from a ws client: a new
 * attendee each time (a cold sandbox, no pool), beside a raw local pty starting the same bash.
 * Also what a sandbox start costs beside the machine's own floors (sandbox-start.ts).
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
  const config = loadConfig({ port: 0, databasePath: join(work, 'latency.db'), stagingDir: join(work, 'staging'), uidBase, uidCount: 2000, idleTimeoutMs: 1000, metricsPort: 0 });
  // The check row measures latency back to back; the per-connection check budget would only add waits.
  config.connectionLimits = { ...config.connectionLimits, checks: { perSecond: 1000, burst: 1000 } };
  const app = await startApp(config);
  const rows: LatencyRow[] = [];
  try {
    // The machine's own floors first, and what a sandbox start and an exec in it cost beside them.
    const start = await measureStartCost(iterations, join(config.stagingDir, 'lessons', LESSON));
    rows.push({ what: 'machine: fork+exec of a static binary (through the spawner)', samples: start.staticExec, target: 'floor' });
    rows.push({ what: `machine: a bare \`bwrap --unshare-all … true\` (machine CPU ${start.bareBwrapCpuMs.toFixed(0)} ms each)`, samples: start.bareBwrap, target: 'floor' });
    rows.push({ what: 'sandbox create → ready (cgroups, uid, seccomp, lesson binds, checker\'s view; floor: a bare bwrap)', samples: start.create, floor: start.bareBwrap, target: '—' });
    rows.push({ what: 'exec `true` in a sandbox (its namespaces, cgroups, filter; floor: a static binary\'s fork+exec)', samples: start.exec, floor: start.staticExec, target: '—' });

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
    const ratio = summarize(hello).p50 / summarize(helloFloor).p50;
    rows.push({ what: 'WS hello → first prompt (server side, cold sandbox incl. setup.sh; floor: a raw node-pty bash)', samples: hello, floor: helloFloor, target: 'p50 ≤ 2× the floor', met: ratio <= 2 });

    // A light step: check.sh tests a file. Its floor: `true` run in a sandbox, as above.
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
    const checkRatio = summarize(check).p50 / summarize(start.exec).p50;
    rows.push({ what: 'CHECK → CHECK_RESULT (ws client, light step; floor: exec `true` in a sandbox)', samples: check, floor: start.exec, target: 'p50 ≤ 3× the floor', met: checkRatio <= 3 });
  } finally {
    await app.close();
  }
  return rows;
}
