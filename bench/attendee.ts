/**
 * A load-generator attendee: a real WebSocket client speaking the wire protocol, lighter than the
 * tests' TestClient — it keeps only the last few KiB of output, so fifty streaming shells cost the
 * generator nothing but the bytes' parsing.
 */
import WebSocket from 'ws';
import { decodeServer, encodeClient, encodeHello, type CheckResultPayload } from '../protocol/messages.ts';
import { newAttendee } from '../sandbox-server/test/helpers.ts';
import { ShellOutput } from './shell.ts';

const encoder = new TextEncoder();

export class BenchAttendee extends ShellOutput {
  private ws: WebSocket | undefined;
  /** Waiting for the result of a check (one at a time per attendee). */
  private checked: ((result: CheckResultPayload) => void) | undefined;

  private constructor(
    private readonly url: string,
    readonly cookie: string,
  ) {
    super();
  }

  /** A new attendee: gets its cookie the way a browser does (by loading a page). */
  static async create(url: string): Promise<BenchAttendee> {
    return new BenchAttendee(url, await newAttendee(url));
  }

  /** An attendee whose cookies are known already (a room's node cookie beside the identity). */
  static withCookie(url: string, cookie: string): BenchAttendee {
    return new BenchAttendee(url, cookie);
  }

  /** A new attendee at the prompt of `lesson`'s `terminal`; its socket is closed again if no prompt comes. */
  static async join(url: string, lesson: string, terminal = 'main', timeoutMs = 30_000): Promise<BenchAttendee> {
    const attendee = await BenchAttendee.create(url);
    try {
      await attendee.connect(lesson, terminal);
      await attendee.prompt(timeoutMs);
      return attendee;
    } catch (error) {
      attendee.close();
      throw error;
    }
  }

  /** Opens the WebSocket and says hello; resolves when the socket is open. */
  async connect(lesson: string, terminal = 'main'): Promise<void> {
    const ws = new WebSocket(`${this.url.replace('http', 'ws')}/ws`, { headers: { cookie: this.cookie, origin: this.url } });
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      const message = decodeServer(new Uint8Array(data));
      if (message.op === 'output') this.received(Buffer.from(message.data).toString('latin1'), message.data.length);
      else if (message.op === 'check-result') this.checked?.(message.payload);
      else if (message.op === 'error') {
        this.error = `${message.payload.code}: ${message.payload.message}`;
        this.notify();
      }
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
    ws.send(encodeHello({ lesson, terminal, cols: 120, rows: 40 }));
  }

  /** Presses Check on `step`; resolves with its result. */
  check(step: string): Promise<CheckResultPayload> {
    return new Promise((resolve) => {
      this.checked = resolve;
      this.ws!.send(encodeClient({ op: 'check', request: { step } }));
    });
  }

  /** The attendee id its cookie carries (how the dashboard names it). */
  get id(): string {
    return this.cookie.split('=')[1]!.split('.')[0]!;
  }

  type(text: string): void {
    this.ws!.send(encodeClient({ op: 'input', data: encoder.encode(text) }));
  }

  close(): void {
    this.ws?.close();
  }
}
