/**
 * One WebSocket connection: hello → attach to a terminal of the attendee's session → frames.
 *
 * The attendee is who the cookie says (checked before the upgrade); the hello only picks a lesson
 * and a terminal of that attendee. Every frame is validated; an invalid one gets an ERROR, and
 * after MAX_INVALID of them the socket is closed with 1008.
 */
import type { WebSocket, RawData } from 'ws';
import { decodeClient, decodeHello } from '../../protocol/client-frames.ts';
import {
  CLOSE_POLICY,
  encodeServer,
  ProtocolError,
  type ErrorCode,
  type ServerMessage,
} from '../../protocol/messages.ts';
import { log } from './log.ts';
import type { RateLimit } from './config.ts';
import { TokenBucket } from './rate-limit.ts';
import { SessionError, type LessonSession, type SessionManager } from './sessions.ts';
import type { Terminal, TerminalViewer } from './terminal.ts';

const MAX_INVALID = 5;
/** Above this many bytes queued in the socket, the pty is paused until the socket drains. */
const SOCKET_HIGH_WATER = 1024 * 1024;
const SOCKET_LOW_WATER = 128 * 1024;
const HELLO_TIMEOUT_MS = 10_000;
/** Checks run one at a time per sandbox anyway: more than 2 waiting is a flood, not a learner. */
const MAX_PENDING_CHECKS = 2;
/**
 * Input typed while the sandbox starts is kept and written once the shell is there (never dropped
 * in silence). Far more than anyone types during a start; a paste beyond it is refused, visibly.
 */
const MAX_TYPED_AHEAD_BYTES = 64 * 1024;

export interface ConnectionLimits {
  /** CHECK and SOLVE per connection. */
  checks: RateLimit;
  /** Input bytes per connection: typing and pasting stay far below it. */
  inputBytes: RateLimit;
}

type State = 'hello' | 'attaching' | 'attached' | 'closed';

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** Who is connecting: the attendee their signed cookie names, from which client address (addressKey). */
export interface Peer {
  attendee: string;
  address: string;
}

/** The socket under the WebSocket (what the upgrade handed over): only to batch writes. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** `hello`: the hello the upgrade's URL carried, if any; then every frame after it is binary. */
export function handleConnection(ws: WebSocket, socket: Corkable, peer: Peer, sessions: SessionManager, limits: ConnectionLimits, hello?: string): void {
  let state: State = 'hello';
  let invalid = 0;
  let session: LessonSession | undefined;
  let terminal: Terminal | undefined;
  let unlisten: (() => void) | undefined;
  const checkBudget = new TokenBucket(limits.checks.perSecond, limits.checks.burst);
  const inputBudget = new TokenBucket(limits.inputBytes.perSecond, limits.inputBytes.burst);
  let pendingChecks = 0;
  let typedAhead: Uint8Array[] = [];
  let typedAheadBytes = 0;
  /** The size the page said while the terminal was starting, which replaces the hello's guess. */
  let sizeAhead: { cols: number; rows: number } | undefined;
  const helloFromUrl = hello !== undefined;

  // What is sent in one tick leaves in one write: a start's statuses, progress and first output
  // were six writes, and each write to a socket is a system call through the whole TCP stack — the
  // server's largest cost per arriving attendee (decisions §23). Uncorked before any I/O is polled.
  let corked = false;
  const send = (message: ServerMessage) => {
    if (ws.readyState !== ws.OPEN) return;
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    ws.send(encodeServer(message), watchDrain);
  };
  const sendError = (code: ErrorCode, message: string) => send({ op: 'error', payload: { code, message } });

  const watchDrain = () => {
    if (terminal && ws.bufferedAmount < SOCKET_LOW_WATER) terminal.setPaused('socket', false);
  };

  const viewer: TerminalViewer = {
    output(data) {
      send({ op: 'output', data });
      if (ws.bufferedAmount > SOCKET_HIGH_WATER) terminal?.setPaused('socket', true);
    },
    exit(payload) {
      send({ op: 'exit', payload });
      send({ op: 'status', payload: { state: 'exited', message: 'The shell exited. Reconnect to start a new one.' } });
    },
    replaced() {
      sendError('busy', 'this terminal was opened in another tab or window');
      ws.close(4001, 'replaced');
    },
  };

  const invalidFrame = (error: unknown) => {
    const code = error instanceof ProtocolError ? error.code : 'bad-frame';
    sendError(code, (error as Error).message);
    if (++invalid >= MAX_INVALID || state === 'hello') ws.close(CLOSE_POLICY, 'invalid frames');
  };

  const helloTimer = setTimeout(() => {
    if (state === 'hello') {
      sendError('bad-hello', `no hello within ${HELLO_TIMEOUT_MS / 1000} s`);
      ws.close(CLOSE_POLICY, 'no hello');
    }
  }, HELLO_TIMEOUT_MS);

  const attach = async (text: string) => {
    const hello = decodeHello(text); // throws ProtocolError
    state = 'attaching';
    try {
      session = sessions.session(peer.attendee, hello.lesson, peer.address);
      unlisten = session.listen({
        status: (payload) => send({ op: 'status', payload }),
        progress: (payload) => send({ op: 'progress', payload }),
      });
      const t = await session.terminal(hello.terminal, hello.cols, hello.rows);
      if (state !== 'attaching') return; // the socket closed while the sandbox started
      terminal = t;
      // A hello from the URL is sized as a terminal starts, before the page measured its screen: a
      // shell that was already there (a reload) keeps its size until the page says its own.
      const size = sizeAhead ?? (helloFromUrl ? undefined : hello);
      if (size) terminal.resize(size.cols, size.rows);
      terminal.attach(viewer);
      state = 'attached';
      for (const data of typedAhead) terminal.write(data);
      typedAhead = [];
    } catch (error) {
      if (error instanceof SessionError) sendError(error.code, error.message);
      else {
        log.error({ err: error }, 'attach failed');
        sendError('internal', 'the terminal could not be started');
      }
      ws.close(error instanceof SessionError && error.code === 'unknown-lesson' ? CLOSE_POLICY : 1011, 'attach failed');
    }
  };

  const runStep = async (kind: 'check' | 'solve', step: string, answer?: string) => {
    if (pendingChecks >= MAX_PENDING_CHECKS || !checkBudget.take()) {
      return sendError('rate-limited', `too many checks: wait for the result of the last one (at most ${limits.checks.burst} in a row, then ${limits.checks.perSecond} per second)`);
    }
    pendingChecks++;
    try {
      const result = kind === 'check' ? await session!.check(step, answer) : await session!.solve(step);
      send({ op: 'check-result', payload: result });
    } catch (error) {
      if (error instanceof SessionError) sendError(error.code, error.message);
      else {
        log.error({ err: error, step }, `${kind} failed`);
        sendError('internal', `the ${kind} could not run`);
      }
    } finally {
      pendingChecks--;
    }
  };

  const onMessage = (data: RawData, isBinary: boolean) => {
    if (state === 'closed') return;
    if (state === 'hello') {
      clearTimeout(helloTimer);
      if (isBinary) return invalidFrame(new ProtocolError('bad-hello', 'the first frame must be a JSON hello (text frame)'));
      attach(toBytes(data).toString()).catch(invalidFrame);
      return;
    }
    if (!isBinary) return invalidFrame(new ProtocolError('bad-frame', 'only binary frames are accepted after the hello'));
    let message;
    try {
      message = decodeClient(toBytes(data));
    } catch (error) {
      return invalidFrame(error);
    }
    if (state !== 'attached' || !terminal) {
      // The page may say its real size before the shell is there (its hello guessed one): keep the last.
      if (message.op === 'resize') return void (sizeAhead = { cols: message.cols, rows: message.rows });
      if (message.op !== 'input') return sendError('not-ready', 'the terminal is still starting');
      if (typedAheadBytes + message.data.length > MAX_TYPED_AHEAD_BYTES) return sendError('rate-limited', 'the terminal is still starting: what you typed beyond its first 64 KiB was dropped');
      typedAheadBytes += message.data.length;
      typedAhead.push(message.data);
      return;
    }
    switch (message.op) {
      case 'input':
        if (!inputBudget.take(message.data.length)) return sendError('rate-limited', 'input is arriving faster than anyone types: some of it was dropped');
        if (!terminal.write(message.data)) {
          return sendError('rate-limited', 'the program in this terminal is not reading its input: what you typed after its first megabyte was dropped');
        }
        return;
      case 'resize':
        return terminal.resize(message.cols, message.rows);
      case 'pause':
      case 'resume':
        return terminal.setPaused('client', message.op === 'pause');
      case 'check':
        return void runStep('check', message.request.step, message.request.answer);
      case 'solve':
        return void runStep('solve', message.request.step);
    }
  };

  // Whatever arrives, the server keeps running: an unexpected failure costs this frame, not the process.
  ws.on('message', (data, isBinary) => {
    try {
      onMessage(data, isBinary);
    } catch (error) {
      log.error({ err: error }, 'frame handling failed');
      sendError('internal', 'the server could not handle that frame');
    }
  });

  ws.on('close', () => {
    state = 'closed';
    clearTimeout(helloTimer);
    terminal?.detach(viewer);
    unlisten?.();
  });
  ws.on('error', (error) => log.warn({ err: error }, 'websocket error'));

  if (helloFromUrl) {
    clearTimeout(helloTimer);
    attach(hello).catch(invalidFrame);
  }
}
