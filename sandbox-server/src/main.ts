/** `npm start`: serves the built site and the sandbox server on one port (default http://localhost:4321). */
import { startApp } from './app.ts';
import { loadConfig } from './config.ts';
import { log } from './log.ts';

try {
  const app = await startApp(loadConfig());
  console.log(`Opslab is running: ${app.url.replace('127.0.0.1', 'localhost')}`);
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  console.error(`opslab: ${(error as Error).message}`);
  process.exit(1);
}
