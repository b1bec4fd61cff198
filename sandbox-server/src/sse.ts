/**
 * Server-sent events: one JSON object per event on a long-lived response. The browser's
 * EventSource reconnects by itself, and every stream here starts with a whole snapshot, so a
 * reconnect (or a server restart) needs no event ids and misses nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A comment line often enough that proxies and NATs keep the connection. */
const HEARTBEAT_MS = 20_000;
/** A client this far behind is dropped: its EventSource reconnects and gets a fresh snapshot. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closeHandlers: Array<() => void> = [];
  private closed = false;

  constructor(req: IncomingMessage, private readonly res: ServerResponse) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    // EventSource waits this long before reconnecting after the server went away.
    res.write('retry: 2000\n\n');
    this.heartbeat = setInterval(() => res.write(':\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
    const end = () => this.close();
    req.on('close', end);
    res.on('close', end);
    res.on('error', end);
  }

  send(data: unknown): void {
    this.sendJson(JSON.stringify(data));
  }

  /** An event already serialised (one message to many streams is serialised once). */
  sendJson(text: string): void {
    if (this.closed) return;
    if (this.res.writableLength > MAX_BUFFERED_BYTES) return this.close();
    this.res.write(`data: ${text}\n\n`);
  }

  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    // destroy, not end: a client too far behind would keep what is buffered for as long as it held the socket.
    if (!this.res.destroyed) this.res.destroy();
    for (const handler of this.closeHandlers.splice(0)) handler();
  }
}
