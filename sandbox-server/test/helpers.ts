/** Test helpers: a real server on a free port and a real `ws` client speaking the wire protocol. */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  decodeServer,
  encodeClient,
  encodeHello,
  type CheckResultPayload,
  type ClientMessage,
  type ErrorPayload,
  type ProgressPayload,
  type StatusPayload,
} from '../../protocol/messages.ts';
import { startApp, type RunningApp } from '../src/app.ts';
import { loadConfig, type ServerConfig } from '../src/config.ts';

// Two suites side by side (two checkouts) set OPSLAB_TEST_UID_BASE apart: a server kills every
// process in its uid range when it starts.
let nextUidBase = Number(process.env.OPSLAB_TEST_UID_BASE ?? 700_000) + (process.pid % 100) * 1000;

export interface TestServer extends RunningApp {
  dir: string;
  config: ServerConfig;
  /** Stops the server; `keepData` leaves the database for a restart test. */
  stop(keepData?: boolean): Promise<void>;
}

/**
 * Waits until `condition` holds (it may be async), looking every `everyMs`; fails naming `what`
 * (a function says what it sees at the deadline). Generous by default: a loaded machine is slow,
 * and a test asserts what happens, not how soon.
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  { timeoutMs = 60_000, everyMs = 50 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}, dir?: string): Promise<TestServer> {
  const workDir = dir ?? mkdtempSync(join(tmpdir(), 'opslab-test-'));
  chmodSync(workDir, 0o755);
  const config = loadConfig({
    host: '127.0.0.1',
    port: 0,
    databasePath: join(workDir, 'opslab.db'),
    stagingDir: join(workDir, 'staging'),
    uidBase: nextUidBase,
    uidCount: 500,
    metricsPort: 0,
    ...overrides,
  });
  nextUidBase += 500;
  const app = await startApp(config);
  return {
    ...app,
    dir: workDir,
    config,
    async stop(keepData = false) {
      await app.close();
      if (!keepData) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Gets a fresh attendee cookie the way a browser does: by loading a page (from `localAddress`, a
 * loopback address of the test's choosing, to play several machines).
 */
export async function newAttendee(url: string, localAddress?: string): Promise<string> {
  const cookie = await new Promise<string | undefined>((resolve, reject) => {
    get(`${url}/api/progress`, { localAddress }, (res) => {
      res.resume();
      resolve(res.headers['set-cookie']?.[0]);
    }).on('error', reject);
  });
  if (!cookie) throw new Error('the server set no cookie');
  return cookie.split(';')[0]!;
}

export class TestClient {
  readonly ws: WebSocket;
  output = '';
  readonly statuses: StatusPayload[] = [];
  readonly errors: ErrorPayload[] = [];
  readonly results: CheckResultPayload[] = [];
  progress: ProgressPayload | undefined;
  exited = false;
  closeCode: number | undefined;
  private waiters: Array<() => void> = [];

  /** `helloInUrl`: the hello rides in the upgrade's URL (`/ws?hello=…`), as the lesson page's early socket sends it. */
  constructor(url: string, cookie: string, options: { origin?: string; localAddress?: string; helloInUrl?: string } = {}) {
    const query = options.helloInUrl === undefined ? '' : `?hello=${encodeURIComponent(options.helloInUrl)}`;
    this.ws = new WebSocket(`${url.replace('http', 'ws')}/ws${query}`, {
      headers: { cookie, origin: options.origin ?? url },
      localAddress: options.localAddress,
    });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      const message = decodeServer(new Uint8Array(data));
      if (message.op === 'output') this.output += Buffer.from(message.data).toString('utf8');
      else if (message.op === 'status') this.statuses.push(message.payload);
      else if (message.op === 'error') this.errors.push(message.payload);
      else if (message.op === 'check-result') this.results.push(message.payload);
      else if (message.op === 'progress') this.progress = message.payload;
      else if (message.op === 'exit') this.exited = true;
      this.wake();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    this.ws.on('error', () => this.wake());
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  async hello(lesson: string, terminal = 'main', cols = 80, rows = 24): Promise<void> {
    await this.opened();
    this.ws.send(encodeHello({ lesson, terminal, cols, rows }));
  }

  send(message: ClientMessage): void {
    this.ws.send(encodeClient(message));
  }

  type(text: string): void {
    this.send({ op: 'input', data: new TextEncoder().encode(text) });
  }

  /** Waits until `condition` holds, re-evaluated on every message; fails with `what` after `timeoutMs`. */
  async until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; output so far: ${JSON.stringify(this.output.slice(-500))}; errors: ${JSON.stringify(this.errors)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  untilOutput(pattern: RegExp, timeoutMs?: number): Promise<void> {
    return this.until(() => pattern.test(this.output), `output matching ${pattern}`, timeoutMs);
  }

  ready(): Promise<void> {
    return this.until(() => {
      if (this.errors.length > 0 || this.closeCode !== undefined) throw new Error(`no prompt: ${JSON.stringify(this.errors)} (close ${this.closeCode})`);
      return this.statuses.some((s) => s.state === 'ready') && /[#$] $/.test(this.output);
    }, 'a ready sandbox and a prompt', 30_000);
  }

  /**
   * Types `command` into the shell and waits for it to finish; returns what the terminal printed
   * meanwhile and the command's exit status. The end marker is typed in two halves, so that its
   * echo does not end the wait: only its output does.
   */
  async run(command: string, timeoutMs = 120_000): Promise<{ output: string; status: number }> {
    const marker = `done-${Math.random().toString(36).slice(2)}`;
    const from = this.output.length;
    const pattern = new RegExp(`${marker} (\\d+)`);
    this.type(`${command}; echo "${marker.slice(0, 5)}""${marker.slice(5)} $?"\r`);
    await this.until(() => pattern.test(this.output.slice(from)), `the end of: ${command}`, timeoutMs);
    const output = this.output.slice(from);
    return { output, status: Number(pattern.exec(output)![1]) };
  }

  async check(step: string, answer?: string): Promise<CheckResultPayload> {
    const before = this.results.length;
    this.send({ op: 'check', request: { step, ...(answer !== undefined ? { answer } : {}) } });
    await this.until(() => this.results.length > before, `the result of checking ${step}`, 60_000);
    return this.results[this.results.length - 1]!;
  }

  async solve(step: string): Promise<CheckResultPayload> {
    const before = this.results.length;
    this.send({ op: 'solve', request: { step } });
    await this.until(() => this.results.length > before, `the result of solving ${step}`, 60_000);
    return this.results[this.results.length - 1]!;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.ws.once('close', resolve));
    this.ws.close();
    await closed;
  }
}
