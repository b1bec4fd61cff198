/**
 * The workshop's HTTP routes (docs/workshop.md):
 *
 * - the attendee's — `POST /api/join`, `GET /api/event`, `GET /api/event/stream` (server-sent
 *   events), `POST|DELETE /api/event/hand` — who asks is the signed attendee cookie;
 * - the instructor's — `/api/instructor/…` — a signed instructor cookie (instructor.ts), which
 *   `POST /api/instructor/login` gives for the token. Everything else under it is a 401, whatever
 *   attendee cookie comes with it.
 *
 * Every request that changes something must come from one of the workshop's own pages (its Origin
 * is a public origin) with a JSON body, so no page elsewhere can act as an instructor's browser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { formatJoinCode, type GridCell } from '../../protocol/workshop.ts';
import type { AttendeeIdentity } from './attendee.ts';
import { BodyError, readJson, sendJson } from './http-json.ts';
import type { InstructorAccess } from './instructor.ts';
import type { PublicOrigins } from './public-origins.ts';
import { KeyedLimiter } from './rate-limit.ts';
import { SseStream } from './sse.ts';
import { MAX_PAGES_PER_ATTENDEE, WorkshopError, type Workshop } from './workshop.ts';

export interface WorkshopApiDeps {
  workshop: Workshop;
  identity: AttendeeIdentity;
  instructor: InstructorAccess;
  origins: () => PublicOrigins;
  /** Who a request counts as for per-address limits (client-address.ts: behind the balancer, the client). */
  clientAddress: (req: IncomingMessage) => string;
}

/** Event streams one client address may hold (attendees' pages; instructors' are not counted). */
export const MAX_STREAMS_PER_ADDRESS = 600;

const EVENT_PATH = /^\/api\/instructor\/events\/([^/]+)(?:\/(stream|clock|warm|broadcast|hint|export\.csv|export\.json|help\/(\d{1,12})))?$/;

const newEventBody = z
  .object({
    title: z.string(),
    lessons: z.array(z.string()).max(50),
    starts: z.string().max(40),
    expected: z.number(),
    minutes: z.number().optional(),
  })
  .strict();
const clockBody = z.object({ action: z.enum(['pause', 'resume', 'extend', 'next', 'end']), minutes: z.number().optional() }).strict();
const textBody = z.object({ text: z.string().max(2000) }).strict();
const hintBody = z.object({ attendee: z.string().max(64), text: z.string().max(2000) }).strict();
const helpBody = z.object({ state: z.enum(['on-the-way', 'resolved']) }).strict();
const joinBody = z.object({ code: z.string().max(40), name: z.string().max(200) }).strict();
const handBody = z.object({ text: z.string().max(2000).default(''), lesson: z.string().max(64).optional(), step: z.string().max(64).optional() }).strict();
const keyboardBody = z.object({ allow: z.boolean(), id: z.number().int() }).strict();
const loginBody = z.object({ token: z.string().max(500) }).strict();

async function body<T>(req: IncomingMessage, schema: z.ZodType<T, z.ZodTypeDef, unknown>): Promise<T> {
  const parsed = schema.safeParse(await readJson(req));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BodyError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

export function isWorkshopPath(pathname: string): boolean {
  return pathname === '/api/join' || pathname === '/api/event' || pathname.startsWith('/api/event/') || pathname === '/api/instructor' || pathname.startsWith('/api/instructor/');
}

export function createWorkshopApi(deps: WorkshopApiDeps) {
  // A room behind one NAT joins at once (a burst of 300); guessing a code (30 bits) at 20 a second
  // from one address would take years.
  const joins = new KeyedLimiter(20, 300);
  const logins = new KeyedLimiter(0.2, 10);
  // A hand goes up and down a few times in a lesson, not in a loop: each is a row and a dashboard update.
  const hands = new KeyedLimiter(0.2, 10);
  // Event streams per client address: a room behind one NAT (150 attendees, a few tabs each) fits;
  // one machine minting cookies to hold streams does not get further.
  const streamsPerAddress = new Map<string, number>();

  const route = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const method = req.method ?? 'GET';
    const changes = method !== 'GET' && method !== 'HEAD';
    if (changes && !deps.origins().originAllowed(req.headers.origin)) {
      return sendJson(res, 403, { error: 'forbidden origin: use the workshop\'s own pages' });
    }
    const address = deps.clientAddress(req);

    // ---------------------------------------------------------------- the instructor
    if (pathname === '/api/instructor/login') {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST here' }, { allow: 'POST' });
      if (!logins.take(address)) return sendJson(res, 429, { error: 'too many tries: wait a minute' });
      const { token } = await body(req, loginBody);
      if (!deps.instructor.tokenMatches(token)) return sendJson(res, 401, { error: 'that is not the instructor token (it is printed when the server starts)' });
      return sendJson(res, 200, { ok: true }, { 'set-cookie': deps.instructor.issueCookie() });
    }
    if (pathname === '/api/instructor/logout') {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST here' }, { allow: 'POST' });
      return sendJson(res, 200, { ok: true }, { 'set-cookie': deps.instructor.clearCookie() });
    }
    if (pathname === '/api/instructor' || pathname.startsWith('/api/instructor/')) {
      if (!deps.instructor.isInstructor(req)) return sendJson(res, 401, { error: 'instructors only: sign in at /instructor with the instructor token' });
      return instructorRoute(req, res, pathname, method);
    }

    // ---------------------------------------------------------------- the attendee
    if (pathname === '/api/join') {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST here' }, { allow: 'POST' });
      if (!joins.take(address)) return sendJson(res, 429, { error: 'Too many tries: wait a few seconds.' });
      const { code, name } = await body(req, joinBody);
      // Joining is the one place a stranger gets an identity here: the join is theirs from now on.
      const attendee = await deps.identity.ensure(req, res);
      const event = await deps.workshop.join(code, name, attendee);
      const lesson = event.agenda[event.clock.lessonIndex]?.lesson;
      return sendJson(res, 200, { event: event.id, title: event.title, lesson, url: lesson ? `/lessons/${lesson}/` : '/' });
    }
    const attendee = deps.identity.fromRequest(req);
    if (!attendee) return sendJson(res, 401, { error: 'no attendee cookie this server signed: load a page of the workshop first' });
    if (pathname === '/api/event') {
      if (method !== 'GET') return sendJson(res, 405, { error: 'use GET here' }, { allow: 'GET' });
      return sendJson(res, 200, (await deps.workshop.attendeeState(attendee)) ?? null);
    }
    if (pathname === '/api/event/stream') {
      if (method !== 'GET') return sendJson(res, 405, { error: 'use GET here' }, { allow: 'GET' });
      // Not in an event: 204 ends the browser's EventSource for good, and nothing is held open.
      if (!(await deps.workshop.attendeeState(attendee))) return void res.writeHead(204, { 'cache-control': 'no-store' }).end();
      if (!deps.workshop.pageSlotFree(attendee)) return sendJson(res, 429, { error: `${MAX_PAGES_PER_ATTENDEE} pages of yours are following the event already: close some` });
      const open = streamsPerAddress.get(address) ?? 0;
      if (open >= MAX_STREAMS_PER_ADDRESS) return sendJson(res, 429, { error: 'too many event streams from your network: close some pages' });
      streamsPerAddress.set(address, open + 1);
      const stream = new SseStream(req, res);
      stream.onClose(() => {
        const left = (streamsPerAddress.get(address) ?? 1) - 1;
        if (left > 0) streamsPerAddress.set(address, left);
        else streamsPerAddress.delete(address);
      });
      return await deps.workshop.watchAttendee(attendee, stream);
    }
    if (pathname === '/api/event/hand') {
      if ((method === 'POST' || method === 'DELETE') && !hands.take(attendee)) return sendJson(res, 429, { error: 'Your hand went up and down too often: wait a few seconds.' });
      if (method === 'POST') {
        const hand = await body(req, handBody);
        return sendJson(res, 200, await deps.workshop.raiseHand(attendee, hand.text, hand));
      }
      if (method === 'DELETE') return sendJson(res, 200, await deps.workshop.lowerHand(attendee));
      return sendJson(res, 405, { error: 'POST raises your hand, DELETE lowers it' }, { allow: 'POST, DELETE' });
    }
    if (pathname === '/api/event/shadow') {
      if (method === 'POST') {
        const answer = await body(req, keyboardBody);
        return sendJson(res, 200, await deps.workshop.answerKeyboard(attendee, answer.allow, answer.id));
      }
      if (method === 'DELETE') return sendJson(res, 200, await deps.workshop.endShadowFor(attendee));
      return sendJson(res, 405, { error: 'POST {allow} answers the instructor, DELETE ends the shadowing' }, { allow: 'POST, DELETE' });
    }
    return sendJson(res, 404, { error: `no such endpoint: ${pathname}` });
  };

  const instructorRoute = async (req: IncomingMessage, res: ServerResponse, pathname: string, method: string): Promise<void> => {
    const w = deps.workshop;
    if (pathname === '/api/instructor/events') {
      if (method === 'GET') return sendJson(res, 200, { events: await w.list() });
      if (method === 'POST') return sendJson(res, 201, await w.create(await body(req, newEventBody)));
      return sendJson(res, 405, { error: 'GET lists events, POST creates one' }, { allow: 'GET, POST' });
    }
    const match = EVENT_PATH.exec(pathname);
    if (!match) return sendJson(res, 404, { error: `no such endpoint: ${pathname}` });
    const [, id, action, helpId] = match as unknown as [string, string, string | undefined, string | undefined];
    const wants = (allowed: 'GET' | 'POST') => {
      if (method === allowed || (allowed === 'GET' && method === 'HEAD')) return true;
      sendJson(res, 405, { error: `use ${allowed} here` }, { allow: allowed });
      return false;
    };
    switch (action) {
      case undefined:
        return void (wants('GET') && sendJson(res, 200, await w.snapshot(id)));
      case 'stream':
        if (!wants('GET')) return;
        await w.event(id); // a 404 before the stream starts
        return await w.watchDashboard(id, new SseStream(req, res));
      case 'clock': {
        if (!wants('POST')) return;
        const { action: what, minutes } = await body(req, clockBody);
        return sendJson(res, 200, await w.clock(id, what, minutes));
      }
      case 'warm':
        if (!wants('POST')) return;
        return sendJson(res, 200, await w.warmNow(id));
      case 'broadcast':
        if (!wants('POST')) return;
        await w.broadcast(id, (await body(req, textBody)).text);
        return sendJson(res, 200, { ok: true });
      case 'hint': {
        if (!wants('POST')) return;
        const hint = await body(req, hintBody);
        await w.hint(id, hint.attendee, hint.text);
        return sendJson(res, 200, { ok: true });
      }
      case 'export.json':
        if (!wants('GET')) return;
        return sendJson(res, 200, await exportRows(w, id), { 'content-disposition': `attachment; filename="opslab-${id}.json"` });
      case 'export.csv': {
        if (!wants('GET')) return;
        const rows = await exportRows(w, id); // a 404 before any header is sent
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store', 'content-disposition': `attachment; filename="opslab-${id}.csv"` });
        return void res.end(toCsv(rows));
      }
      default:
        if (!wants('POST')) return;
        return sendJson(res, 200, { help: await w.setHelp(id, Number(helpId), (await body(req, helpBody)).state) });
    }
  };

  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    try {
      await route(req, res, pathname);
    } catch (error) {
      if (error instanceof WorkshopError || error instanceof BodyError) return sendJson(res, error.status, { error: error.message });
      throw error;
    }
  };
}

export interface ExportRow {
  event: string;
  code: string;
  attendee: string;
  name: string;
  lesson: string;
  step: string;
  /** passed, passed with help, solved, failed, not tried */
  result: string;
  attempts: number;
  firstCheckAt: string;
  lastCheckAt: string;
}

/** Every attendee × every step of the event's lessons, from the check attempts. */
async function exportRows(w: Workshop, eventId: string): Promise<ExportRow[]> {
  const event = await w.event(eventId);
  const { attendees, attempts, lessons } = await w.exportData(event);
  const rows: ExportRow[] = [];
  for (const who of attendees) {
    for (const lesson of lessons) {
      for (const step of lesson.steps) {
        const mine = attempts.filter((a) => a.attendee === who.attendee && a.lesson === lesson.slug && a.step === step);
        const pass = mine.find((a) => a.passed);
        const how: Record<NonNullable<GridCell['how']>, string> = { check: 'passed', help: 'passed with help', solve: 'solved' };
        rows.push({
          event: event.title,
          code: formatJoinCode(event.code),
          attendee: who.attendee,
          name: who.name,
          lesson: lesson.slug,
          step,
          result: pass ? how[pass.how] : mine.length > 0 ? 'failed' : 'not tried',
          attempts: mine.length,
          firstCheckAt: mine[0]?.at ?? '',
          lastCheckAt: mine.at(-1)?.at ?? '',
        });
      }
    }
  }
  return rows;
}

/**
 * RFC 4180 quoting; a cell a spreadsheet would run as a formula (=, +, -, @ first: an attendee
 * can choose their display name) gets a leading apostrophe.
 */
export function toCsv(rows: ExportRow[]): string {
  const columns: Array<keyof ExportRow> = ['event', 'code', 'attendee', 'name', 'lesson', 'step', 'result', 'attempts', 'firstCheckAt', 'lastCheckAt'];
  const cell = (value: string | number) => {
    let text = String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n']/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\r\n') + '\r\n';
}
