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
export const EARLY_SIZE = { cols: 80, rows: 24 };

/** The terminal's early socket, once: later calls, or one refused or lost already, get nothing. */
export function takeEarlySocket(terminal: string): EarlySocket | undefined {
  const sockets = window.opslabEarlySockets;
  const socket = sockets?.[terminal];
  if (!socket) return undefined;
  delete sockets[terminal];
  socket.release();
  // Refused (no identity cookie yet, as when `astro dev` serves the page) or lost: connect as usual.
  if (socket.ws.readyState === WebSocket.CLOSING || socket.ws.readyState === WebSocket.CLOSED) return undefined;
  return socket;
}

/**
 * The head script of a lesson page, built here so the hello has one definition: it opens one
 * socket per terminal with the hello in the URL and keeps what arrives. Inline and dependency-free
 * because it must run before anything else loads.
 */
export function earlySocketsScript(lesson: string, terminals: readonly string[]): string {
  const urls = Object.fromEntries(terminals.map((terminal) => [terminal, `/ws?hello=${encodeURIComponent(encodeHello({ lesson, terminal, ...EARLY_SIZE }))}`]));
  return `(() => {
  const urls = ${JSON.stringify(urls)};
  const sockets = (window.opslabEarlySockets = {});
  for (const [terminal, path] of Object.entries(urls)) {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
    ws.binaryType = 'arraybuffer';
    const backlog = [];
    const keep = (event) => backlog.push(event);
    ws.addEventListener('message', keep);
    sockets[terminal] = { ws, backlog, release: () => ws.removeEventListener('message', keep) };
  }
})();`;
}
