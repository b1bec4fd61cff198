/**
 * The one HTTP port: the built site (static files), a small JSON API and the WebSocket endpoint.
 */
import type { Lesson } from '../../lesson-model/catalog.ts';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { SHADOW_PATH, shadowTarget, type ShadowTarget } from './shadow.ts';
import { MAX_CLIENT_FRAME } from '../../protocol/messages.ts';
import type { AttendeeIdentity } from './attendee.ts';
import { handleConnection, type ConnectionLimits } from './connection.ts';
import { HalfOpenLimit } from './half-open-limit.ts';
import { log } from './log.ts';
import type { PublicOrigins } from './public-origins.ts';
import { KeyedLimiter } from './rate-limit.ts';
import { handleSandboxes, isSandboxesPath } from './sandboxes-api.ts';
import type { ServerConfig } from './config.ts';
import type { SessionManager } from './sessions.ts';
import { StaticSite } from './static-site.ts';
import { isWorkshopPath } from './workshop-api.ts';
import { sendJson as json } from './http-json.ts';
import { isDone, type ProgressStore } from './store.ts';
import { cookieNamed } from './cookies.ts';
import { NODE_COOKIE } from './placement.ts';
import { decodeHello } from '../../protocol/client-frames.ts';

export const WS_PATH = '/ws';

export interface HttpDeps {
  /** Authoring mode (npm run dev): the author's tools answer (sandboxes-api.ts). */
  authoring: boolean;
  siteDir: string;
  sessions: SessionManager;
  store: ProgressStore;
  /** The lessons as the server knows them now (in authoring mode, a saved one replaces its entry). */
  lessons: ReadonlyMap<string, Lesson>;
  identity: AttendeeIdentity;
  /** Known once the server listens (the default origins name its port). */
  origins: () => PublicOrigins;
  upgradeLimits: ServerConfig['upgradeLimits'];
  slowClients: ServerConfig['slowClients'];
  connectionLimits: ConnectionLimits;
  health: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** The workshop's routes (workshop-api.ts). */
  workshopApi: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;
  /** Whether the request carries an instructor's cookie (instructor.ts). */
  isInstructor: (req: IncomingMessage) => boolean;
  /** An instructor's shadowing socket (shadow.ts). */
  shadow: (ws: WebSocket, target: ShadowTarget) => void;
  /** Who a request counts as for per-address limits (client-address.ts: behind the balancer, the client). */
  clientAddress: (req: IncomingMessage) => string;
  /** A room of several nodes: which node holds each attendee (placement.ts). Absent on one machine. */
  placement?: {
    readonly self: string;
    nodeFor(attendee: string, lesson?: string): Promise<string>;
    placementOf(attendee: string): Promise<string | undefined>;
    /** The Set-Cookie value that names a node to the load balancer. */
    cookie(node: string): string;
  };
}

/** The lesson a terminal's URL hello names (the connection checks the hello itself). */
function helloLesson(hello: string | undefined): string | undefined {
  try {
    return hello === undefined ? undefined : decodeHello(hello).lesson;
  } catch {
    return undefined;
  }
}

/** A lesson's page: where an attendee is placed before their terminals connect. */
const LESSON_PAGE = /^\/lessons\/([a-z0-9][a-z0-9-]*)\/?$/;

/**
 * Pages whose path names an event: one built page each, which reads the id from its URL.
 */
const EVENT_PAGES: Array<[RegExp, string]> = [
  [/^\/instructor\/events\/[0-9a-f]{12}\/?$/, '/instructor/event/'],
  [/^\/instructor\/events\/[0-9a-f]{12}\/projector\/?$/, '/instructor/projector/'],
];

/**
 * A request target as a URL. Not `new URL(target, base)`: a target like `//x` would be read as
 * a host (and `//%zz` throws), so the target is appended to a fixed origin instead.
 */
function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(`http://localhost${target?.startsWith('/') ? target : '/'}`);
  } catch {
    return undefined;
  }
}

/** The path of a request target (requestUrl). */
export function requestPath(target: string | undefined): string | undefined {
  return requestUrl(target)?.pathname;
}

/** Answers a raw socket (an upgrade or a request Node could not parse) and closes it. */
function reject(socket: Duplex, status: number, message = STATUS_CODES[status] ?? 'Error', headers = ''): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n${headers}\r\n${message}`);
}

export interface HttpServer {
  server: Server;
  /** Ends every WebSocket: upgraded sockets are not the HTTP server's any more, so close() would wait for them. */
  terminateSockets(): void;
}

/**
 * Runs a request or upgrade handler so that nothing it throws (or rejects with) gets past it: the
 * failure costs that request only — a 500 if nothing was sent yet, else its connection.
 */
function guarded<A extends unknown[]>(what: string, handler: (...args: A) => unknown, fail: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    const failed = (error: unknown) => {
      log.error({ err: error }, `${what} failed`);
      try {
        fail(...args);
      } catch (failure) {
        log.error({ err: failure }, `answering a failed ${what} failed too`);
      }
    };
    try {
      const result = handler(...args);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
}

/** Node's defaults (60 s for headers, 5 min per request) let slow clients hold descriptors for minutes. */
const HTTP_TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 };

export function createHttpServer(deps: HttpDeps): HttpServer {
  const site = existsSync(join(deps.siteDir, 'index.html')) ? new StaticSite(deps.siteDir) : undefined;
  const notFound = site?.has404 ? readFileSync(join(deps.siteDir, '404.html')) : 'Not found';
  const halfOpen = new HalfOpenLimit(deps.slowClients.maxHalfOpenPerAddress);

  const handleRequest = async (req: IncomingMessage, res: ServerResponse) => {
    halfOpen.settled(req.socket);
    const pathname = requestPath(req.url);
    // Health first: a load balancer's or a kubelet's probe names the node by its address (any Host),
    // and must not be handed an identity (a Set-Cookie per probe). It tells no attendee's data.
    if (pathname === '/api/health' && req.method === 'GET') return json(res, 200, { ok: true, ...(await deps.health()), connections: halfOpen.stats() });
    if (!deps.origins().hostAllowed(req.headers.host)) return json(res, 421, { error: 'this server does not serve that host name' });
    if (pathname === undefined) return json(res, 400, { error: 'malformed request target' });
    // Before ensure(): these answer a stranger 401, not a new identity.
    if (isSandboxesPath(pathname)) return handleSandboxes(req, res, pathname, deps);
    if (isWorkshopPath(pathname)) return deps.workshopApi(req, res, pathname);
    // A signed cookie is checked without the store; only a stranger's request may read it (ensure()).
    const attendee = await deps.identity.ensure(req, res);
    const placement = deps.placement;
    if (placement) {
      // The load balancer routes by the node cookie: it is set (or corrected) on the page that opens
      // the terminals and on the call a refused terminal makes before it reconnects.
      const lesson = LESSON_PAGE.exec(pathname)?.[1];
      const named = cookieNamed(req, NODE_COOKIE);
      const node = lesson && deps.lessons.has(lesson) && req.method === 'GET' ? await placement.nodeFor(attendee, lesson) : pathname === '/api/progress' ? await placement.placementOf(attendee) : undefined;
      if (node && node !== named) {
        res.appendHeader('Set-Cookie', placement.cookie(node));
        // Placed on another node (this one is full, or holds them no more): the same page from there.
        // Only when the cookie did not name it already — then the balancer cannot reach it, and the
        // page is served here (its terminals wait until that node is back or found dead).
        if (lesson && node !== placement.self) {
          res.writeHead(307, { location: req.url ?? '/', 'cache-control': 'no-store' });
          return res.end();
        }
      }
    }
    if (pathname === '/api/progress' && req.method === 'GET') {
      const all = await deps.store.attendeeProgress(attendee);
      const lessons = Object.fromEntries(
        [...deps.lessons].map(([slug, { steps }]) => [slug, { total: steps.length, done: steps.filter((s) => isDone(all[slug]?.steps[s.id])).length, steps: all[slug]?.steps ?? {} }]),
      );
      return json(res, 200, { lessons });
    }
    if (pathname.startsWith('/api/')) return json(res, 404, { error: `no such endpoint: ${pathname}` });
    if (!site) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return res.end('The site is not built yet: run `npm run build`.');
    }
    const page = EVENT_PAGES.find(([pattern]) => pattern.test(pathname))?.[1] ?? pathname;
    if (!site.serve(req, res, page)) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(notFound);
    }
  };
  const server = createServer(
    HTTP_TIMEOUTS,
    guarded('request', handleRequest, (_req, res) => {
      if (res.headersSent) return void res.destroy();
      json(res, 500, { error: 'the server could not answer this request' });
    }),
  );
  halfOpen.watch(server);

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false });
  // Reconnects: generous for a flaky network (backoff keeps honest clients far below), fatal for a loop.
  const { perAttendee, perAddress } = deps.upgradeLimits;
  const upgradesPerAttendee = new KeyedLimiter(perAttendee.perSecond, perAttendee.burst);
  // A room behind one NAT shares an address: this only stops one machine opening sockets in a loop.
  const upgradesPerAddress = new KeyedLimiter(perAddress.perSecond, perAddress.burst);
  // The 101 of a terminal whose node cookie was missing or stale corrects it.
  const nodeCookieFor = new WeakMap<IncomingMessage, string>();
  wss.on('headers', (headers, req) => {
    const cookie = nodeCookieFor.get(req);
    if (cookie) headers.push(`Set-Cookie: ${cookie}`);
  });
  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node's HTTP server stops listening for an upgrading socket's errors: a peer that resets it
    // while it waits (for the store, below) or is refused would otherwise stop the server.
    socket.on('error', (error) => log.debug({ err: error }, 'an upgrading socket failed'));
    halfOpen.settled(req.socket);
    const url = requestUrl(req.url);
    if (url?.pathname !== WS_PATH && url?.pathname !== SHADOW_PATH) return reject(socket, 404);
    const origins = deps.origins();
    if (!origins.hostAllowed(req.headers.host)) return reject(socket, 421, 'This server does not serve that host name');
    if (!origins.originAllowed(req.headers.origin)) return reject(socket, 403, 'Forbidden origin');
    if (url.pathname === SHADOW_PATH) {
      if (!deps.isInstructor(req)) return reject(socket, 401, 'Instructors only: sign in at /instructor');
      const target = shadowTarget(url.searchParams);
      if (typeof target === 'string') return reject(socket, 400, target);
      return wss.handleUpgrade(req, socket, head, (ws) => deps.shadow(ws, target));
    }
    const attendee = deps.identity.fromRequest(req);
    if (!attendee) return reject(socket, 401, 'No attendee cookie: load the page first');
    const address = deps.clientAddress(req);
    if (!upgradesPerAddress.take(address) || !upgradesPerAttendee.take(attendee)) {
      return reject(socket, 429, 'Too many connections: wait a moment');
    }
    // The page's early socket says its hello in the URL (src/client/early-connect.ts), checked like
    // one sent as the first frame: the sandbox starts now, not when the browser next gets to the
    // socket's events.
    const hello = url.searchParams.get('hello') ?? undefined;
    const placement = deps.placement;
    if (placement) {
      const node = await placement.nodeFor(attendee, helloLesson(hello));
      if (node !== cookieNamed(req, NODE_COOKIE)) nodeCookieFor.set(req, placement.cookie(node));
      // Their sandboxes are on another node: the client fetches /api/progress (which sets the
      // cookie again) and reconnects, through the balancer, to that node.
      if (node !== placement.self) return reject(socket, 409, 'Your sandboxes are on another node of the room: reconnecting there', `Set-Cookie: ${placement.cookie(node)}\r\n`);
      if (socket.destroyed) return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => handleConnection(ws, socket, { attendee, address }, deps.sessions, deps.connectionLimits, hello));
  };
  server.on(
    'upgrade',
    guarded('upgrade', handleUpgrade, (_req, socket) => {
      if (socket.writable) reject(socket, 500);
      else socket.destroy();
    }),
  );
  server.on('clientError', (error, socket) => {
    log.debug({ err: error }, 'client error');
    if (socket.writable) reject(socket, (error as { code?: string }).code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400);
    else socket.destroy();
  });
  return { server, terminateSockets: () => wss.clients.forEach((ws) => ws.terminate()) };
}
