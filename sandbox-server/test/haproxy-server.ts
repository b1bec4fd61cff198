/**
 * The room's load balancer for tests: Debian's HAProxy 2.6 run by the test itself with the
 * configuration shipped in deploy/haproxy/haproxy.cfg, on a loopback port the test chose, its admin
 * socket in a temporary folder — never a system service, never a default port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOM_CONFIG = fileURLToPath(new URL('../../deploy/haproxy/haproxy.cfg', import.meta.url));

export interface TestHaproxy {
  port: number;
  /** One command on the admin socket (`show stat`, `disable server nodes/node-a`…); its answer. */
  admin(command: string): Promise<string>;
  /** Each server's status in the `nodes` backend: UP, DOWN, MAINT… */
  states(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startTestHaproxy(port: number, nodes: { a: number; b: number; c: number }): Promise<TestHaproxy> {
  if (spawnSync('haproxy', ['-v']).error) throw new Error('haproxy is missing: apt-get install haproxy (npm run setup installs it)');
  const run = mkdtempSync(join(tmpdir(), 'opslab-haproxy-'));
  const env = {
    ...process.env,
    OPSLAB_HAPROXY_RUN: run,
    OPSLAB_HAPROXY_BIND: `127.0.0.1:${port}`,
    OPSLAB_NODE_A: `127.0.0.1:${nodes.a}`,
    OPSLAB_NODE_B: `127.0.0.1:${nodes.b}`,
    OPSLAB_NODE_C: `127.0.0.1:${nodes.c}`,
  };
  const check = spawnSync('haproxy', ['-c', '-f', ROOM_CONFIG], { env, encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c refused ${ROOM_CONFIG}: ${check.stdout}${check.stderr}`);
  // -db: in the foreground, a child of the test, gone with it.
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', ROOM_CONFIG], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const socket = join(run, 'admin.sock');
  const admin = (command: string) =>
    new Promise<string>((resolve, reject) => {
      let answer = '';
      const connection = createConnection(socket, () => connection.end(`${command}\n`));
      connection.on('data', (chunk) => (answer += chunk.toString())).on('end', () => resolve(answer)).on('error', reject);
    });
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${stderr}`);
    await sleep(50);
  }
  if (!existsSync(socket)) throw new Error(`haproxy did not open its admin socket: ${stderr}`);
  return {
    port,
    admin,
    async states() {
      const csv = await admin('show stat');
      const rows = csv.split('\n').filter((line) => line.startsWith('nodes,') && !line.startsWith('nodes,BACKEND'));
      const header = csv.split('\n')[0]!.replace(/^# /, '').split(',');
      const status = header.indexOf('status');
      return Object.fromEntries(rows.map((line) => line.split(',')).map((fields) => [fields[1]!, fields[status]!]));
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(run, { recursive: true, force: true });
    },
  };
}
