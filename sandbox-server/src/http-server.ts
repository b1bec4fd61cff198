/**
 * The one HTTP port: the built site (static files), a small JSON API and the WebSocket endpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import sirv from 'sirv';
import { WebSocketServer } from 'ws';
import { MAX_CLIENT_FRAME } from '../../protocol/messages.ts';
import { attendeeFromRequest, ensureAttendee } from './attendee.ts';
import { handleConnection, type ConnectionLimits } from './connection.ts';
import { log } from './log.ts';
import { KeyedLimiter } from './rate-limit.ts';
import type { ServerConfig } from './config.ts';
import type { SessionManager } from './sessions.ts';
import { isDone, type ProgressStore } from './store.ts';

export const WS_PATH = '/ws';

export interface HttpDeps {
  siteDir: string;
  sessions: SessionManager;
  store: ProgressStore;
  lessonSteps: Map<string, string[]>;
  allowedOrigins: string[];
  upgradeLimits: ServerConfig['upgradeLimits'];
  connectionLimits: ConnectionLimits;
  health: () => Record<string, unknown>;
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Same-origin only (plus configured extra origins): a page elsewhere must not drive an attendee's shell. */
export function originAllowed(request: IncomingMessage, allowed: string[]): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * The path of a request target. Not `new URL(target, base)`: a target like `//x` would be read as
 * a host (and `//%zz` throws), so the target is appended to a fixed origin instead.
 */
export function requestPath(target: string | undefined): string | undefined {
  try {
    return new URL(`http://localhost${target?.startsWith('/') ? target : '/'}`).pathname;
  } catch {
    return undefined;
  }
}

function reject(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\n\r\n${reason}`);
}

export interface HttpServer {
  server: Server;
  /** Ends every WebSocket: upgraded sockets are not the HTTP server's any more, so close() would wait for them. */
  terminateSockets(): void;
}

export function createHttpServer(deps: HttpDeps): HttpServer {
  const hasSite = existsSync(join(deps.siteDir, 'index.html'));
  const notFound = existsSync(join(deps.siteDir, '404.html')) ? readFileSync(join(deps.siteDir, '404.html')) : 'Not found';
  // The build writes .br and .gz copies of text assets; sirv picks one by Accept-Encoding.
  const serveStatic = hasSite ? sirv(deps.siteDir, { etag: true, dev: false, gzip: true, brotli: true }) : undefined;

  const server = createServer((req, res) => {
    const pathname = requestPath(req.url);
    if (pathname === undefined) return json(res, 400, { error: 'malformed request target' });
    const attendee = ensureAttendee(req, res);
    if (pathname === '/api/progress' && req.method === 'GET') {
      const all = deps.store.attendeeProgress(attendee);
      const lessons = Object.fromEntries(
        [...deps.lessonSteps].map(([slug, steps]) => [slug, { total: steps.length, done: steps.filter((s) => isDone(all[slug]?.steps[s])).length, steps: all[slug]?.steps ?? {} }]),
      );
      return json(res, 200, { lessons });
    }
    if (pathname === '/api/health') return json(res, 200, { ok: true, ...deps.health() });
    if (pathname.startsWith('/api/')) return json(res, 404, { error: `no such endpoint: ${pathname}` });
    if (!serveStatic) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return res.end('The site is not built yet: run `npm run build`.');
    }
    serveStatic(req, res, () => {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(notFound);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false });
  // Reconnects: generous for a flaky network (backoff keeps honest clients far below), fatal for a loop.
  const { perAttendee, perAddress } = deps.upgradeLimits;
  const upgradesPerAttendee = new KeyedLimiter(perAttendee.perSecond, perAttendee.burst);
  // A room behind one NAT shares an address: this only stops one machine minting attendees in a loop.
  const upgradesPerAddress = new KeyedLimiter(perAddress.perSecond, perAddress.burst);
  server.on('upgrade', (req, socket, head) => {
    if (requestPath(req.url) !== WS_PATH) return reject(socket, 404, 'Not Found');
    if (!originAllowed(req, deps.allowedOrigins)) return reject(socket, 403, 'Forbidden origin');
    const attendee = attendeeFromRequest(req);
    if (!attendee) return reject(socket, 401, 'No attendee cookie: load the page first');
    if (!upgradesPerAddress.take(req.socket.remoteAddress ?? '') || !upgradesPerAttendee.take(attendee)) {
      return reject(socket, 429, 'Too many connections: wait a moment');
    }
    wss.handleUpgrade(req, socket, head, (ws) => handleConnection(ws, attendee, deps.sessions, deps.connectionLimits));
  });
  server.on('clientError', (error, socket) => {
    log.debug({ err: error }, 'client error');
    if (socket.writable) reject(socket, 400, 'Bad Request');
  });
  return { server, terminateSockets: () => wss.clients.forEach((ws) => ws.terminate()) };
}
