/**
 * A shell seen from outside: the end of its output, a byte count, and waiting for something to
 * appear — for the sandboxed shell behind a WebSocket and the raw pty floor alike. Also the
 * keystroke → echo measurement both are put through.
 */
const TAIL_CHARS = 4096;

export abstract class ShellOutput {
  /** The end of the output, enough to find a prompt or an echo. */
  tail = '';
  bytes = 0;
  /** Set when the shell can no longer answer (a refused or closed connection). */
  error: string | undefined;
  private readonly listeners = new Set<() => void>();

  abstract type(text: string): void;

  protected received(text: string, bytes: number): void {
    this.bytes += bytes;
    this.tail = (this.tail + text).slice(-TAIL_CHARS);
    this.notify();
  }

  protected notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `condition` holds (checked on every output), rejects after `timeoutMs` or on an error. */
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
}

/**
 * Keystroke → echo round trips at a readline prompt: one printable key at a time, each waiting for
 * its echo (any new output), then `gapMs` before the next — a fast typist's pace, so the samples
 * spread over the load's ups and downs; the line is cleared every 40 keys. Returns ms per key.
 */
export async function measureEcho(shell: ShellOutput, keys: number, gapMs = 10): Promise<number[]> {
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
export async function quiet(shell: ShellOutput, ms: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const before = shell.bytes;
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (shell.bytes === before) return;
  }
}
