/**
 * Attendee input into a pty master, written by us instead of node-pty's `write()`.
 *
 * Why: node-pty 1.1 queues input and writes it with asynchronous `fs.write(fd)` on libuv's thread
 * pool, and keeps retrying after EAGAIN. When the shell exits, node-pty closes the master fd while
 * such a write can still be queued or in flight; the kernel hands the same fd number to the next
 * socket or file this process opens, and the late write lands there (microsoft/node-pty#220, open
 * on Unix). Here it put one attendee's typed bytes into another attendee's fresh WebSocket
 * connection (seen in CI: the client read "aaaa…" where "HTTP/1.1" should be).
 *
 * The fix: every write is a `writeSync` on the main thread, right after checking that node-pty has
 * not begun closing the fd. node-pty closes it on the main thread too (destroying its read
 * stream), so no close can slip in between the check and the write. The master is non-blocking:
 * a full pty buffer answers EAGAIN at once and we retry on a timer, never blocking the server.
 */
import { writeSync } from 'node:fs';
import type { IPty } from 'node-pty';

/** How long to wait before retrying when the program in the pty is not reading (its buffer is full). */
const RETRY_MS = 10;

/** The internals of node-pty's UnixTerminal this module relies on (pinned version, tested). */
interface UnixPtyInternals {
  _fd: number;
  _socket: { destroyed: boolean };
}

export class PtyInput {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private retry: NodeJS.Timeout | undefined;
  private readonly internals: UnixPtyInternals;

  constructor(
    pty: IPty,
    /** Input waiting for a program that does not read is bounded: beyond this, input is refused. */
    private readonly maxQueuedBytes: number,
  ) {
    this.internals = pty as unknown as UnixPtyInternals;
    if (typeof this.internals._fd !== 'number' || typeof this.internals._socket?.destroyed !== 'boolean') {
      throw new Error('node-pty internals changed: PtyInput needs UnixTerminal._fd and ._socket (see pty-input.ts)');
    }
  }

  /** Queues `data` for the pty; false (and nothing queued) when the backlog is full or the pty is closing. */
  write(data: Buffer): boolean {
    if (!this.open) {
      this.close();
      return false;
    }
    if (this.queued + data.length > this.maxQueuedBytes) return false;
    this.queue.push(data);
    this.queued += data.length;
    if (!this.retry) this.flush();
    return true;
  }

  /** Drops what is queued and stops retrying: called when the terminal ends. */
  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.queue.length = 0;
    this.queued = 0;
  }

  get backlog(): number {
    return this.queued;
  }

  /** True while the master fd is still node-pty's (it has not begun to close it). */
  get open(): boolean {
    return !this.internals._socket.destroyed;
  }

  private flush(): void {
    this.retry = undefined;
    while (this.queue.length > 0) {
      // Checked before every write: once node-pty destroys its stream the fd number is not ours.
      if (!this.open) return this.close();
      const chunk = this.queue[0]!;
      let written: number;
      try {
        written = writeSync(this.internals._fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.retry = setTimeout(() => this.flush(), RETRY_MS);
          return;
        }
        return this.close(); // EIO/EBADF: the shell is gone; its input goes with it
      }
      this.queued -= written;
      if (written === chunk.length) this.queue.shift();
      else this.queue[0] = chunk.subarray(written);
    }
  }
}
