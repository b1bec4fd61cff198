import { readFileSync } from 'node:fs';
import { defaultProfiles } from '../sandbox-server/src/config.ts';
import { startTestServer } from '../sandbox-server/test/helpers.ts';
const server = await startTestServer();
const sandbox = await server.backend.create({ id: 'gx', lessonDir: '/work/main/lessons/galera', ...defaultProfiles.cluster });
try {
  for (const script of process.argv.slice(2)) {
    const r = await sandbox.exec(['bash', '-c', `export PATH=/opt/opslab/lesson/bin:$PATH\n${readFileSync(script, 'utf8')}`], { timeoutMs: 300_000 });
    console.log(`== ${script}: code ${r.code} ${r.durationMs.toFixed(0)} ms\n${r.output}`);
  }
} finally { await server.stop(); }
process.exit(0);
