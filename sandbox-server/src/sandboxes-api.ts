/**
 * The attendee's own sandboxes: `GET /api/sandboxes` lists them, `POST /api/sandboxes/<lesson>/stop`
 * stops one (progress stays; opening the lesson again restores it), `POST …/<lesson>/reset` starts
 * the lesson over (the sandbox stopped, its progress forgotten); in authoring mode (npm run dev),
 * `POST …/<lesson>/setup` runs setup.sh again in the running sandbox. So a lesson opened beyond the
 * per-attendee cap is never a dead end: the page shows what holds the places and lets one go.
 *
 * Who asks is the signed cookie, and nothing else: no cookie the server signed is a 401 (and, unlike
 * page loads, no new identity: a stranger has no sandboxes). A stop changes state, so it must come
 * from one of the workshop's own pages: its Origin must be a public origin exactly, as for the
 * WebSocket (a page elsewhere could otherwise post a form that stops an attendee's sandboxes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { idPattern } from '../../protocol/messages.ts';
import { SANDBOXES_PATH, type ApiError, type SandboxList, type SetupResult, type StopResult } from '../../protocol/sandboxes.ts';
import type { AttendeeIdentity } from './attendee.ts';
import type { PublicOrigins } from './public-origins.ts';
import { SessionError, type SessionManager } from './sessions.ts';

/** What the terminals of a lesson reset this way are told. */
export const RESET_BY_ATTENDEE = 'You reset this lesson: reconnect for a fresh sandbox.';

/** What the terminals of a sandbox stopped this way are told. */
export const STOPPED_BY_ATTENDEE = 'You stopped this sandbox from another page. Reconnect to start it again: completed steps will be replayed.';

export interface SandboxesApiDeps {
  sessions: SessionManager;
  identity: AttendeeIdentity;
  origins: () => PublicOrigins;
  /** Authoring mode: the author's tools (re-run setup) answer; otherwise they are not there (404). */
  authoring: boolean;
}

function json(res: ServerResponse, status: number, body: SandboxList | StopResult | SetupResult | ApiError, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

const notAllowed = (res: ServerResponse, allow: 'GET' | 'POST') =>
  json(res, 405, { error: `use ${allow} here` }, { allow });

/** Whether this (already parsed, still percent-encoded) path is one of these routes'. */
export function isSandboxesPath(pathname: string): boolean {
  return pathname === SANDBOXES_PATH || pathname.startsWith(`${SANDBOXES_PATH}/`);
}

const STOP_PATH = new RegExp(`^${SANDBOXES_PATH}/([^/]*)/(stop|reset|setup)$`);

export async function handleSandboxes(req: IncomingMessage, res: ServerResponse, pathname: string, deps: SandboxesApiDeps): Promise<void> {
  const list = (attendee: string): SandboxList => ({
    sandboxes: deps.sessions.sandboxesOf(attendee).map((s) => s.summary()),
    limit: deps.sessions.attendeeLimit,
  });
  const who = () => deps.identity.fromRequest(req);
  const unauthorized = () => json(res, 401, { error: 'no attendee cookie this server signed: load a page of the workshop first' });

  if (pathname === SANDBOXES_PATH) {
    if (req.method !== 'GET') return notAllowed(res, 'GET');
    const attendee = who();
    if (!attendee) return unauthorized();
    return json(res, 200, list(attendee));
  }
  const stop = STOP_PATH.exec(pathname);
  if (!stop) return json(res, 404, { error: `no such endpoint: ${pathname} (${SANDBOXES_PATH}, or ${SANDBOXES_PATH}/<lesson>/stop or /reset)` });
  if (stop[2] === 'setup' && !deps.authoring) return json(res, 404, { error: 'setup runs again only in authoring mode (npm run dev)' });
  const reset = stop[2] === 'reset';
  const slug = stop[1]!;
  if (!idPattern.test(slug)) return json(res, 400, { error: 'malformed lesson name: lowercase letters, digits and dashes' });
  if (req.method !== 'POST') return notAllowed(res, 'POST');
  // Cross-site request forgery: a browser always names the page a POST comes from.
  if (!deps.origins().originAllowed(req.headers.origin)) return json(res, 403, { error: 'forbidden origin: stop sandboxes from the workshop\'s own pages' });
  const attendee = who();
  if (!attendee) return unauthorized();
  if (!deps.sessions.lesson(slug)) return json(res, 404, { error: `there is no lesson "${slug}"` });
  if (stop[2] === 'setup') {
    const session = deps.sessions.existing(attendee, slug);
    if (!session?.running) return json(res, 409, { error: 'no sandbox of this lesson is running: open the lesson first' });
    const setup = await session.rerunSetup();
    if (res.destroyed) return;
    return json(res, 200, { lesson: slug, ...setup });
  }
  let stopped: boolean;
  try {
    if (reset) {
      stopped = Boolean(deps.sessions.existing(attendee, slug)?.running);
      await deps.sessions.reset(attendee, slug, RESET_BY_ATTENDEE);
    } else stopped = await deps.sessions.stop(attendee, slug, STOPPED_BY_ATTENDEE);
  } catch (error) {
    if (error instanceof SessionError && error.code === 'unknown-lesson') return json(res, 404, { error: error.message });
    if (error instanceof SessionError && error.code === 'busy') return json(res, 409, { error: error.message });
    throw error;
  }
  if (res.destroyed) return;
  json(res, 200, { lesson: slug, stopped, ...list(attendee) });
}
