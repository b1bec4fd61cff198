/**
 * The floor of every terminal figure: a raw local node-pty bash in this process — no sandbox, no
 * WebSocket, no protocol — doing the same work.
 */
import { spawn, type IPty } from 'node-pty';
import type { Echoing } from './attendee.ts';

export class RawPtyShell implements Echoing {
  readonly pty: IPty;
  tail = '';
  bytes = 0;
  private listeners = new Set<() => void>();

  constructor() {
    this.pty = spawn('/bin/bash', ['--norc', '-i'], {
      name: 'xterm-256color',
      cols: 120,
      rows: 40,
      env: { PS1: 'root@raw:~# ', PATH: '/usr/bin:/bin', TERM: 'xterm-256color', HOME: '/tmp' },
    });
    this.pty.onData((data) => {
      this.bytes += Buffer.byteLength(data);
      this.tail = (this.tail + data).slice(-4096);
      for (const listener of [...this.listeners]) listener();
    });
  }

  type(text: string): void {
    this.pty.write(text);
  }

  until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => condition() && done();
      const timer = setTimeout(() => done(new Error(`raw pty: timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
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

  prompt(timeoutMs = 10_000): Promise<void> {
    return this.until(() => /# $/.test(this.tail), 'a prompt', timeoutMs);
  }

  kill(): void {
    this.pty.kill();
  }
}
