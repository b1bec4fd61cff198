/**
 * The floor of every terminal figure: a raw local node-pty bash in this process — no sandbox, no
 * WebSocket, no protocol — doing the same work.
 */
import { spawn, type IPty } from 'node-pty';
import { ShellOutput } from './shell.ts';

/** The floor's shell: bash without rc files, a prompt like the sandbox's, the host's PATH, in `home`. */
export function spawnRawBash(home: string, size: { cols: number; rows: number }, encoding: string | null = 'utf8'): IPty {
  return spawn('/bin/bash', ['--norc', '-i'], {
    name: 'xterm-256color',
    ...size,
    cwd: home,
    encoding,
    env: { PS1: 'root@raw:~# ', PATH: '/usr/bin:/bin', TERM: 'xterm-256color', HOME: home },
  });
}

export class RawPtyShell extends ShellOutput {
  readonly pty: IPty;

  constructor() {
    super();
    this.pty = spawnRawBash('/tmp', { cols: 120, rows: 40 });
    this.pty.onData((data) => this.received(data, Buffer.byteLength(data)));
  }

  type(text: string): void {
    this.pty.write(text);
  }

  kill(): void {
    this.pty.kill();
  }
}
