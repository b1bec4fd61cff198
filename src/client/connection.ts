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
import { takeEarlySocket } from './early-connect.ts';
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
    if (this.firstConnect && !early) return this.connectWithIdentity();
    this.firstConnect = false;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = early?.ws ?? new WebSocket(`${scheme}//${location.host}/ws`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    const onOpen = () => {
      opened = true;
      // The early socket's hello was in its URL, sized as a terminal starts: the real size follows
      // (always: the shell may be one another device left at its own size).
      if (early) ws.send(encodeClient({ op: 'resize', ...this.size() }));
      else ws.send(encodeHello({ lesson: this.lesson, terminal: this.terminal, ...this.size() }));
      this.events.open();
    };
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
    const onClose = ({ code, reason }: { code: number; reason: string }) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      // The early socket refused at the upgrade, after the terminal took it: as if there had been none.
      if (early && !opened) return this.connectWithIdentity();
      // Replaced by another tab, refused by policy, or stopped: reconnecting on our own would fight it.
      if (this.stopped || code === CLOSE_REPLACED || code === CLOSE_POLICY) {
        this.events.disconnected(reason || 'closed');
        return;
      }
      const delay = Math.min(10_000, 500 * 2 ** this.retries++);
      this.events.disconnected(reason || 'connection lost', delay);
      // Refused before it opened: our identity cookie may be one the server no longer accepts (a
      // cookie from before identities were signed, say). Loading any page issues a valid one.
      if (!opened) fetchProgress().catch(() => undefined);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    ws.onopen = onOpen;
    ws.onmessage = onMessage;
    ws.onclose = onClose;
    // What the early socket saw before this terminal existed, in order: its open, its frames, its close.
    if (early?.opened) {
      onOpen();
      for (const event of early.backlog.splice(0)) onMessage(event);
      if (early.closed) onClose(early.closed);
    }
  }

  /**
   * Connects once the attendee has an identity cookie: the page opened no socket, or it was refused
   * at the upgrade (no cookie yet, as when `astro dev` serves the page); the progress call issues one.
   */
  private connectWithIdentity(): void {
    this.firstConnect = false;
    void fetchProgress()
      .catch(() => undefined)
      .finally(() => !this.stopped && !this.ws && this.connect());
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
