/**
 * A server of a test's own beside Playwright's shared one, for settings the shared one must not
 * have (a tiny capacity, a relay as its public origin). Its uids follow the shared server's range
 * (OPSLAB_E2E_UID_BASE + 1000), so two suites run side by side with disjoint uids throughout: a
 * server kills every process in its uid range at start.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort, spawnServer } from '../sandbox-server/test/server-process.ts';

const OWN_UID_BASE = Number(process.env.OPSLAB_E2E_UID_BASE ?? 650_000) + 1000;

export async function startOwnServer(env: Record<string, string>, port?: number): Promise<{ url: string; stop: () => Promise<void>; kill: () => void }> {
  port ??= await freePort();
  const stateDir = mkdtempSync('/tmp/opslab-e2e-own-');
  chmodSync(stateDir, 0o755);
  const child = await spawnServer({
    OPSLAB_PORT: String(port),
    OPSLAB_HOST: '127.0.0.1',
    OPSLAB_DB: `${stateDir}/opslab.db`,
    OPSLAB_STAGING_DIR: `${stateDir}/staging`,
    OPSLAB_UID_BASE: String(OWN_UID_BASE),
    OPSLAB_UID_COUNT: '100',
    OPSLAB_LOG_LEVEL: 'warn',
    ...env,
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    url: `http://localhost:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(stateDir, { recursive: true, force: true });
    },
    /** A machine that dies: SIGKILL, no goodbye. */
    kill: () => void child.kill('SIGKILL'),
  };
}
