/**
 * The real server as its own process (`node --import tsx sandbox-server/src/main.ts`), for tests
 * that need what an in-process server cannot give: a SIGKILL, or settings of their own beside
 * Playwright's shared server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { projectRoot } from '../src/config.ts';

/** A loopback port free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server with `env` (OPSLAB_* settings) and resolves once it serves. */
export function spawnServer(env: Record<string, string>, preload: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload.flatMap((module) => ['--import', module]), 'sandbox-server/src/main.ts'], {
    cwd: projectRoot,
    // A free port for /metrics unless the test names one: several servers run side by side.
    env: { ...process.env, OPSLAB_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('Opslab is running') && resolve(child));
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  });
}
