/**
 * The floor of every terminal figure: a raw local node-pty bash in this process — no sandbox, no
 * WebSocket, no protocol — doing the same work.
 */
import { spawn, type IPty } from 'node-pty';
import { ShellOutput } from './shell.ts';

export class RawPtyShell extends ShellOutput {
  readonly pty: IPty;

  constructor() {
    super();
    this.pty = spawn('/bin/bash', ['--norc', '-i'], {
      name: 'xterm-256color',
      cols: 120,
      rows: 40,
      env: { PS1: 'root@raw:~# ', PATH: '/usr/bin:/bin', TERM: 'xterm-256color', HOME: '/tmp' },
    });
    this.pty.onData((data) => this.received(data, Buffer.byteLength(data)));
  }

  type(text: string): void {
    this.pty.write(text);
  }

  kill(): void {
    this.pty.kill();
  }
}
