/**
 * Each terminal's socket is opened by a few lines in the lesson page's <head>, while the page is
 * still being read — before the terminal code (xterm.js, most of the page's JavaScript) has even
 * loaded. The hello rides in the upgrade's URL (`/ws?hello=…`), so the server starts the sandbox
 * when the upgrade arrives, however long the browser then takes to get to the socket's events.
 * What arrives meanwhile is kept until the terminal takes the socket over (TerminalConnection).
 *
 * Why: on a machine where the browser needs 500–700 ms to run the page's JavaScript, opening the
 * socket after it made the attendee wait for both in turn (docs/decisions.md §23).
 */
import { encodeHello } from '../../protocol/messages.ts';

export interface EarlySocket {
  ws: WebSocket;
  /** Frames that arrived before the terminal took the socket, in order. */
  backlog: MessageEvent[];
  opened: boolean;
  /** How it closed, if it did before the terminal took it. */
  closed?: { code: number; reason: string };
  /** Stops keeping frames: the taker handles the socket from now on. */
  release(): void;
}

declare global {
  interface Window {
    /** Filled by the head script (earlySocketsScript), emptied by takeEarlySocket. */
    opslabEarlySockets?: Record<string, EarlySocket>;
  }
}

/** The size a terminal starts with (xterm.js's default) until it has measured its screen. */
const EARLY_SIZE = { cols: 80, rows: 24 };
/** Where the tabs of one browser tell each other that they let go of a terminal ({ lesson, terminal }). */
export const TABS_CHANNEL = 'opslab-terminals';
/**
 * Output kept for a terminal that does not exist yet: far more than a prompt; past it (a busy
 * shell reattached while the page's script never loads) the socket is closed, and the terminal,
 * once there, connects anew and gets the recent output from the server's scrollback.
 */
const MAX_BACKLOG_BYTES = 1024 * 1024;

/**
 * The terminal's early socket, once (later calls get nothing): open, or closed after it opened
 * (its frames and close code are the taker's to handle). Undefined when there is none, it was
 * refused at the upgrade (no identity cookie yet, as when `astro dev` serves the page) or it
 * overflowed: then the terminal connects the usual way.
 */
export function takeEarlySocket(terminal: string): EarlySocket | undefined {
  const sockets = window.opslabEarlySockets;
  const socket = sockets?.[terminal];
  if (!socket) return undefined;
  delete sockets[terminal];
  socket.release();
  return socket.closed && !socket.opened ? undefined : socket;
}

/**
 * The head script of a lesson page, built here so the hello has one definition: it opens one
 * socket per terminal with the hello in the URL, keeps what arrives and how it closes, and on
 * leaving the page before the terminals exist closes them and says so to the browser's other tabs
 * (as a terminal does). Inline and dependency-free because it must run before anything else loads.
 */
export function earlySocketsScript(lesson: string, terminals: readonly string[]): string {
  const urls = Object.fromEntries(terminals.map((terminal) => [terminal, `/ws?hello=${encodeURIComponent(encodeHello({ lesson, terminal, ...EARLY_SIZE }))}`]));
  // `<` escaped: nothing in the data can end the script element.
  const data = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
  return `(() => {
  const lesson = ${data(lesson)};
  const urls = ${data(urls)};
  const sockets = (window.opslabEarlySockets = {});
  for (const [terminal, path] of Object.entries(urls)) {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
    ws.binaryType = 'arraybuffer';
    const socket = { ws, backlog: [], opened: false, bytes: 0 };
    const opened = () => (socket.opened = true);
    const keep = (event) => {
      socket.backlog.push(event);
      socket.bytes += event.data.byteLength || 0;
      if (socket.bytes > ${MAX_BACKLOG_BYTES}) {
        delete sockets[terminal];
        ws.close();
      }
    };
    const closed = (event) => (socket.closed = { code: event.code, reason: event.reason });
    ws.addEventListener('open', opened);
    ws.addEventListener('message', keep);
    ws.addEventListener('close', closed);
    socket.release = () => {
      ws.removeEventListener('open', opened);
      ws.removeEventListener('message', keep);
      ws.removeEventListener('close', closed);
    };
    sockets[terminal] = socket;
  }
  addEventListener('pagehide', () => {
    const tabs = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(${data(TABS_CHANNEL)});
    for (const [terminal, { ws }] of Object.entries(sockets)) {
      if (ws.readyState === WebSocket.OPEN) tabs?.postMessage({ lesson, terminal });
      ws.close();
    }
  });
})();`;
}
