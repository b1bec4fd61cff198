/**
 * A load-generator attendee: a real WebSocket client speaking the wire protocol, lighter than the
 * tests' TestClient — it keeps only the last few KiB of output, so fifty streaming shells cost the
 * generator nothing but the bytes' parsing.
 */
import WebSocket from 'ws';
import { decodeServer, encodeClient, encodeHello } from '../protocol/messages.ts';
import { newAttendee } from '../sandbox-server/test/helpers.ts';

const TAIL_BYTES = 4096;
const encoder = new TextEncoder();

export class BenchAttendee {
  private ws: WebSocket | undefined;
  /** The end of the output, enough to find a prompt or an echo. */
  tail = '';
  bytes = 0;
  error: string | undefined;
  private listeners = new Set<() => void>();

  private constructor(
    private readonly url: string,
    readonly cookie: string,
  ) {}

  /** A new attendee: gets its cookie the way a browser does (by loading a page). */
  static async create(url: string): Promise<BenchAttendee> {
    return new BenchAttendee(url, await newAttendee(url));
  }

  /** Opens the WebSocket and says hello; resolves when the socket is open. */
  async connect(lesson: string): Promise<void> {
    const ws = new WebSocket(`${this.url.replace('http', 'ws')}/ws`, { headers: { cookie: this.cookie, origin: this.url } });
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      const message = decodeServer(new Uint8Array(data));
      if (message.op === 'output') {
        this.bytes += message.data.length;
        this.tail = (this.tail + Buffer.from(message.data).toString('latin1')).slice(-TAIL_BYTES);
      } else if (message.op === 'error') this.error = `${message.payload.code}: ${message.payload.message}`;
      this.notify();
    });
    ws.on('close', (code) => {
      this.error ??= `closed (${code})`;
      this.notify();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    ws.send(encodeHello({ lesson, terminal: 'main', cols: 120, rows: 40 }));
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `condition` holds (checked on every message), rejects after `timeoutMs` or on an error. */
  until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) done();
        else if (this.error) done(new Error(`${what}: ${this.error}`));
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      this.listeners.add(check);
      check();
    });
  }

  prompt(timeoutMs = 30_000): Promise<void> {
    return this.until(() => /# $/.test(this.tail), 'a prompt', timeoutMs);
  }

  type(text: string): void {
    this.ws!.send(encodeClient({ op: 'input', data: encoder.encode(text) }));
  }

  close(): void {
    this.ws?.close();
  }
}

/** Something that echoes what is typed into it: a sandboxed shell over the WebSocket, or the raw pty floor. */
export interface Echoing {
  type(text: string): void;
  until(condition: () => boolean, what: string, timeoutMs: number): Promise<void>;
  readonly bytes: number;
}

/**
 * Keystroke → echo round trips at a readline prompt: one printable key at a time, each waiting for
 * its echo (any new output), then `gapMs` before the next — a fast typist's pace, so the samples
 * spread over the load's ups and downs; the line is cleared every 40 keys. Returns ms per key.
 */
export async function measureEcho(shell: Echoing, keys: number, gapMs = 10): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < keys; i++) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    if (i > 0 && i % 40 === 0) {
      const before = shell.bytes;
      shell.type('\x15'); // Ctrl-U: readline clears the line and redraws
      await shell.until(() => shell.bytes > before, 'the line cleared', 5_000);
      await quiet(shell, 20);
    }
    const before = shell.bytes;
    const started = performance.now();
    shell.type(String.fromCharCode(97 + (i % 26)));
    await shell.until(() => shell.bytes > before, 'an echo', 60_000);
    samples.push(performance.now() - started);
  }
  shell.type('\x15');
  await quiet(shell, 20); // a write still queued when the caller kills the shell would fail
  return samples;
}

/** Waits until `shell` has printed nothing for `ms` (bounded: 100 tries). */
export async function quiet(shell: Echoing, ms: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const before = shell.bytes;
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (shell.bytes === before) return;
  }
}
