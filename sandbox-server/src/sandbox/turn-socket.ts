/**
 * One sandbox's door to the machine's turn queue: a unix socket bind-mounted into the sandbox at
 * /run/opslab/turns.sock (inside the sandbox, `machine-turn` speaks to it). Connecting asks for a
 * turn; the server answers with lines: `ahead N` while waiting, `turn SECONDS` when the turn
 * starts, `time-up` when it is taken back. Closing the connection ends the turn or leaves the queue.
 * A sandbox holds one place in the queue at most: a second connection is refused with `busy`, so
 * opening many cannot crowd the others out.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Ticket, TurnQueue } from './turn-queue.ts';
import { closeServer, listenForUid } from './uid-socket.ts';

export const TURN_SOCKET_IN_SANDBOX = '/run/opslab/turns.sock';

export class TurnSocket {
  private readonly server: Server;
  private current: { socket: Socket; ticket: Ticket } | undefined;

  private constructor(readonly path: string, queue: TurnQueue) {
    this.server = createServer((socket) => this.serve(socket, queue));
  }

  /** Listens on `<dir>/<uid>.sock`, reachable by the sandbox's uid only. */
  static async open(dir: string, uid: number, queue: TurnQueue): Promise<TurnSocket> {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    const path = join(dir, `${uid}.sock`);
    const turnSocket = new TurnSocket(path, queue);
    await listenForUid(turnSocket.server, path, uid);
    return turnSocket;
  }

  private serve(socket: Socket, queue: TurnQueue): void {
    socket.on('error', () => socket.destroy());
    if (this.current) {
      socket.end('busy\n');
      return;
    }
    const say = (line: string) => {
      if (!socket.destroyed) socket.write(`${line}\n`);
    };
    const ticket = queue.enter({
      onPosition: (ahead) => say(`ahead ${ahead}`),
      onTurn: (turnMs) => say(`turn ${Math.floor(turnMs / 1000)}`),
      onTimeUp: () => {
        say('time-up');
        socket.end();
      },
    });
    this.current = { socket, ticket };
    // What the sandbox sends is never read as a command: the connection itself is the request.
    socket.on('data', () => {});
    socket.once('close', () => {
      ticket.release();
      if (this.current?.socket === socket) this.current = undefined;
    });
  }

  async close(): Promise<void> {
    this.current?.socket.destroy();
    await closeServer(this.server);
    rmSync(this.path, { force: true });
  }
}
