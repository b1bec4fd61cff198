/**
 * Attendee input into a pty master.
 *
 * Why not an asynchronous write: node-pty 1.1 queued input and wrote it with `fs.write(fd)` on
 * libuv's thread pool, retrying after EAGAIN. When the shell exited, the master fd was closed while
 * such a write could still be queued or in flight; the kernel handed the same fd number to the next
 * socket or file this process opened, and the late write landed there (microsoft/node-pty#220). Here
 * it put one attendee's typed bytes into another attendee's fresh WebSocket connection (seen in CI:
 * the client read "aaaa…" where "HTTP/1.1" should be).
 *
 * So every write is a `writeSync` on the main thread, right after checking that the master is still
 * open. It is closed on the main thread too (destroying its read stream), so no close can slip in
 * between the check and the write. The master is non-blocking: a full pty buffer answers EAGAIN at
 * once and we retry on a timer, never blocking the server.
 */
import { writeSync } from 'node:fs';

/** How long to wait before retrying when the program in the pty is not reading (its buffer is full). */
const RETRY_MS = 10;

/** The master's write side: its fd, valid only while `open`. */
export interface PtyMaster {
  readonly fd: number;
  readonly open: boolean;
}

export class PtyInput {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly pty: PtyMaster,
    /** Input waiting for a program that does not read is bounded: beyond this, input is refused. */
    private readonly maxQueuedBytes: number,
  ) {}

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

  /** True while the master fd is still open. */
  get open(): boolean {
    return this.pty.open;
  }

  private flush(): void {
    this.retry = undefined;
    while (this.queue.length > 0) {
      // Checked before every write: once the master is closed its fd number is not ours.
      if (!this.open) return this.close();
      const chunk = this.queue[0]!;
      let written: number;
      try {
        written = writeSync(this.pty.fd, chunk);
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
