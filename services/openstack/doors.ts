/**
 * A sandbox's only way to the cloud's APIs: one unix socket per endpoint (host:port from the
 * cloud's catalog), owned by the sandbox's uid, in a folder bind-mounted at /run/opslab/cloud.
 * The server forwards each connection to that endpoint and nowhere else; inside the sandbox,
 * /run/opslab/cloud/cloud-doors (the script beside this file) listens on the same address and port on its loopback (socat) and
 * connects there. The sandbox keeps no other network: its network namespace has only `lo`.
 *
 * An endpoint on the host's loopback keeps its address (127.0.0.1:5000 is 127.0.0.1:5000 inside);
 * any other host gets an address of its own on the sandbox's loopback and a line in the sandbox's
 * /etc/hosts, so URLs from the catalog work unchanged (TLS included: bytes pass through as they are).
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../../sandbox-server/src/log.ts';
import type { Sandbox, SandboxAttachment } from '../../sandbox-server/src/sandbox/backend.ts';
import { closeServer, listenForUid } from '../../sandbox-server/src/sandbox/uid-socket.ts';

export const CLOUD_DIR_IN_SANDBOX = '/run/opslab/cloud';
/** Run in the sandbox before the lesson's setup: opens the doors on its loopback, puts the openrc in /root. */
const DOORS_SCRIPT = fileURLToPath(new URL('cloud-doors', import.meta.url));
/**
 * Appended to the openrc: the CLIs skip importing osprofiler, a quarter of a second of CPU of each
 * `nova`/`openstack` call (keystoneauth tries to import it and does without when it cannot).
 */
const FAST_CLI = [
  '# The CLIs start faster without osprofiler (tracing, unused here): it costs a quarter of a second per call.',
  `export PYTHONPATH=${CLOUD_DIR_IN_SANDBOX}/python`,
  '',
].join('\n');
/** Connections one sandbox may hold open to the cloud at once (a CLI call uses a few). */
const MAX_CONNECTIONS = 64;

export interface Door {
  host: string;
  port: number;
  /** Where the sandbox reaches it: an address on its own loopback. */
  address: string;
}

/** Gives each endpoint host its loopback address inside the sandbox. */
export function planDoors(endpoints: Array<{ host: string; port: number }>): Door[] {
  const addresses = new Map<string, string>();
  return endpoints.map(({ host, port }) => {
    let address = addresses.get(host);
    if (!address) {
      address = host === '127.0.0.1' || host === 'localhost' ? '127.0.0.1' : `127.0.1.${addresses.size + 1}`;
      addresses.set(host, address);
    }
    return { host, port, address };
  });
}

export class CloudDoors implements SandboxAttachment {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private dir: string | undefined;

  constructor(
    private readonly doorsDir: string,
    readonly doors: Door[],
    /** Written into the sandbox's /root/openrc. */
    private readonly openrc: string,
  ) {}

  async open(uid: number): Promise<Array<{ source: string; target: string }>> {
    mkdirSync(this.doorsDir, { recursive: true, mode: 0o711 });
    const dir = join(this.doorsDir, String(uid));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 });
    this.dir = dir;
    const lines: string[] = [];
    for (const [index, door] of this.doors.entries()) {
      const path = join(dir, `${index}.sock`);
      const server = createServer((socket) => this.forward(socket, door));
      this.servers.push(server);
      await listenForUid(server, path, uid);
      lines.push(`${door.address} ${door.port} ${CLOUD_DIR_IN_SANDBOX}/${index}.sock ${door.host}`);
    }
    writeFileSync(join(dir, 'doors'), `${lines.join('\n')}\n`);
    copyFileSync(DOORS_SCRIPT, join(dir, 'cloud-doors'));
    chmodSync(join(dir, 'cloud-doors'), 0o644); // readable by the sandbox's bash whatever the checkout's mode
    writeFileSync(join(dir, 'openrc'), `${this.openrc}${FAST_CLI}`, { mode: 0o400 });
    // osprofiler: the clients import it (through keystoneauth) only to offer tracing nobody uses here.
    mkdirSync(join(dir, 'python/osprofiler'), { recursive: true });
    writeFileSync(join(dir, 'python/osprofiler/__init__.py'), "raise ImportError('osprofiler is left out of the command-line clients here (docs/openstack.md)')\n");
    const named = this.doors.filter((door) => door.address !== '127.0.0.1');
    const hosts = ['127.0.0.1 localhost opslab', ...new Set(named.map((door) => `${door.address} ${door.host}`))];
    writeFileSync(join(dir, 'hosts'), `${hosts.join('\n')}\n`);
    chownSync(dir, uid, uid);
    chownSync(join(dir, 'openrc'), uid, uid);
    const binds = [{ source: dir, target: CLOUD_DIR_IN_SANDBOX }];
    if (named.length > 0) binds.push({ source: join(dir, 'hosts'), target: '/etc/hosts' });
    return binds;
  }

  /** Starts the listeners inside the sandbox and puts the openrc in /root. */
  async start(sandbox: Sandbox): Promise<void> {
    const result = await sandbox.exec(['/bin/bash', `${CLOUD_DIR_IN_SANDBOX}/cloud-doors`], { timeoutMs: 10_000 });
    if (result.code !== 0) throw new Error(`cloud-doors failed in the sandbox: ${result.output}`);
  }

  private forward(socket: Socket, door: Door): void {
    if (this.sockets.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    const upstream = createConnection({ host: door.host, port: door.port });
    this.sockets.add(socket);
    // Ends travel through the pipes (a response is flushed before its socket ends); only an
    // error tears both sides down at once.
    const fail = (error: Error) => {
      log.debug({ err: error, door: `${door.host}:${door.port}` }, 'cloud door: connection failed');
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', fail).on('close', () => this.sockets.delete(socket));
    upstream.on('error', fail);
    socket.pipe(upstream);
    upstream.pipe(socket);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map(closeServer));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
