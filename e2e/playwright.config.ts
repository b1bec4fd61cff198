import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';

const port = Number(process.env.OPSLAB_E2E_PORT ?? 4391);
const stateDir = `/tmp/opslab-e2e-${port}`;

// The lessons' own walks (lessons/<slug>/e2e/*.test.ts), beside the platform's (e2e/*.test.ts).
// OPSLAB_LESSONS_DIR points both the server and this at another lessons folder (inside the project,
// for its walks' imports to resolve).
const lessonsDir = process.env.OPSLAB_LESSONS_DIR ?? fileURLToPath(new URL('../lessons', import.meta.url));

export default defineConfig({
  projects: [
    { name: 'platform', testDir: '.', testMatch: '*.test.ts' },
    { name: 'lessons', testDir: lessonsDir, testMatch: '*/e2e/*.test.ts' },
  ],
  timeout: 60_000,
  // A check or a prompt on a busy machine (CI boots the cloud beside the suite) may take more than
  // the default 5 s: assertions wait for the state, and a slow machine only makes them slower.
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  // A run inside a run (e2e/lesson-folder.test.ts) reports and keeps its traces elsewhere.
  reporter: [['list'], ['json', { outputFile: process.env.OPSLAB_E2E_REPORT ?? '../test-results/e2e.json' }]],
  outputDir: process.env.OPSLAB_E2E_OUTPUT ?? '../test-results/e2e',
  use: {
    baseURL: `http://localhost:${port}`,
    browserName: 'chromium',
    viewport: { width: 1400, height: 860 },
    launchOptions: {
      // Debian's chromium: Playwright cannot download its own browser here.
      executablePath: process.env.OPSLAB_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    // The real server serving the real built site (npm test builds it first).
    command: `rm -rf ${stateDir} && mkdir -p -m 755 ${stateDir} && exec node --import tsx sandbox-server/src/main.ts`,
    cwd: '..',
    url: `http://localhost:${port}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      OPSLAB_PORT: String(port),
      OPSLAB_HOST: '127.0.0.1',
      OPSLAB_DB: `${stateDir}/opslab.db`,
      OPSLAB_STAGING_DIR: `${stateDir}/staging`,
      // Two suites on one machine (say, two worktrees) need their own uids as well as their own port.
      OPSLAB_UID_BASE: process.env.OPSLAB_E2E_UID_BASE ?? '650000',
      OPSLAB_UID_COUNT: '1000',
      OPSLAB_LOG_LEVEL: 'warn',
      OPSLAB_METRICS_PORT: '0',
    },
  },
});
