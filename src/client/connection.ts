/**
 * One terminal's WebSocket: hello, frames, and reconnecting with backoff after a lost network or a
 * server restart. The server keeps the shell, so a reconnect reattaches to the same one.
 */
import {
  decodeServer,
  encodeClient,
  encodeHello,
  type CheckResultPayload,
  type ClientMessage,
  type ErrorPayload,
  type ExitPayload,
  type ProgressPayload,
  type StatusPayload,
} from '../../protocol/messages.ts';
import { EARLY_SIZE, takeEarlySocket } from './early-connect.ts';
import { fetchProgress } from './progress-api.ts';

export interface ConnectionEvents {
  open(): void;
  output(data: Uint8Array): void;
  status(payload: StatusPayload): void;
  progress(payload: ProgressPayload): void;
  checkResult(payload: CheckResultPayload): void;
  error(payload: ErrorPayload): void;
  exit(payload: ExitPayload): void;
  /** The socket is gone; `retryInMs` is set when a reconnect is scheduled. */
  disconnected(reason: string, retryInMs?: number): void;
}

const CLOSE_REPLACED = 4001;
const CLOSE_POLICY = 1008;

export class TerminalConnection {
  private ws: WebSocket | undefined;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  /** The first connect takes the socket the page opened early (early-connect.ts), if it is still good. */
  private firstConnect = true;

  constructor(
    private readonly lesson: string,
    private readonly terminal: string,
    private readonly size: () => { cols: number; rows: number },
    private readonly events: ConnectionEvents,
  ) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    clearTimeout(this.retryTimer);
    this.stopped = false;
    this.ws?.close();
    this.ws = undefined;
    const early = this.firstConnect ? takeEarlySocket(this.terminal) : undefined;
    if (this.firstConnect && !early) {
      // The page opened no socket, or it was refused (no identity cookie yet, as when `astro dev`
      // serves the page): the progress call issues the cookie the upgrade requires.
      this.firstConnect = false;
      void fetchProgress()
        .catch(() => undefined)
        .finally(() => !this.stopped && !this.ws && this.connect());
      return;
    }
    this.firstConnect = false;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = early?.ws ?? new WebSocket(`${scheme}//${location.host}/ws`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    const onOpen = () => {
      opened = true;
      const size = this.size();
      // The early socket's hello was in its URL, with the size a terminal starts with: correct it.
      if (!early) ws.send(encodeHello({ lesson: this.lesson, terminal: this.terminal, ...size }));
      else if (size.cols !== EARLY_SIZE.cols || size.rows !== EARLY_SIZE.rows) ws.send(encodeClient({ op: 'resize', ...size }));
      this.events.open();
    };
    ws.onopen = onOpen;
    const onMessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      const message = decodeServer(new Uint8Array(event.data));
      switch (message.op) {
        case 'output':
          return this.events.output(message.data);
        case 'status':
          if (message.payload.state === 'ready') this.retries = 0;
          return this.events.status(message.payload);
        case 'progress':
          return this.events.progress(message.payload);
        case 'check-result':
          return this.events.checkResult(message.payload);
        case 'error':
          return this.events.error(message.payload);
        case 'exit':
          return this.events.exit(message.payload);
      }
    };
    ws.onmessage = onMessage;
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      // Replaced by another tab, refused by policy, or stopped: reconnecting on our own would fight it.
      if (this.stopped || event.code === CLOSE_REPLACED || event.code === CLOSE_POLICY) {
        this.events.disconnected(event.reason || 'closed');
        return;
      }
      const delay = Math.min(10_000, 500 * 2 ** this.retries++);
      this.events.disconnected(event.reason || 'connection lost', delay);
      // Refused before it opened: our identity cookie may be one the server no longer accepts (a
      // cookie from before identities were signed, say). Loading any page issues a valid one.
      if (!opened) fetchProgress().catch(() => undefined);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    if (early && ws.readyState === WebSocket.OPEN) {
      onOpen();
      for (const event of early.backlog.splice(0)) onMessage(event);
    }
  }

  send(message: ClientMessage): boolean {
    if (!this.open) return false;
    this.ws!.send(encodeClient(message));
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close();
  }
}
