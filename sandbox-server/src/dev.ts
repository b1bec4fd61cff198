/**
 * `npm run dev`: the sandbox server on OPSLAB_DEV_SERVER_PORT (4322) and `astro dev` on 4321, which
 * proxies /ws and /api to it (astro.config.mjs). For authors: the lesson's text reloads live (Astro),
 * and its scripts are re-staged on every save (authoring mode, lesson-watch.ts), so an edited
 * check.sh is what the next Check runs.
 */
import { spawn } from 'node:child_process';
import { startApp } from './app.ts';
import { loadConfig, projectRoot } from './config.ts';

const port = Number(process.env.OPSLAB_DEV_SERVER_PORT ?? 4322);
// The page's port (OPSLAB_DEV_PORT: a test's own, beside a workshop on 4321).
const sitePort = Number(process.env.OPSLAB_DEV_PORT ?? 4321);
const app = await startApp(loadConfig({ port, publicOrigins: [`http://localhost:${sitePort}`, `http://127.0.0.1:${sitePort}`], authoring: true }));
const astro = spawn('npx', ['astro', 'dev', '--port', String(sitePort)], { cwd: projectRoot, stdio: 'inherit' });
const stop = async () => {
  astro.kill('SIGTERM');
  await app.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
astro.once('exit', (code) => void app.close().then(() => process.exit(code ?? 0)));
