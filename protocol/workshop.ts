/**
 * What the workshop's pages and the server say to each other about an event: the instructor's
 * dashboard, the projector page and the attendee's event bar read these, the server writes them.
 * Plain JSON over HTTP and server-sent events (docs/workshop.md); nothing here runs code.
 */

/** A lesson in the event's agenda, with its minutes (the lesson's `duration`). */
export interface AgendaItem {
  lesson: string;
  title: string;
  minutes: number;
}

/**
 * The room's clock: the current lesson and when it started; pauses and extensions are counted so
 * that the time left is the same after a restart (clockLeftMs).
 */
export interface EventClock {
  lessonIndex: number;
  /** ISO time the current lesson's clock started (the event's start for the first lesson). */
  lessonStartedAt: string;
  /** Set while paused. */
  pausedAt?: string;
  /** Paused time already over, on the current lesson. */
  pausedMs: number;
  /** Minutes added to the current lesson, in ms. */
  extendedMs: number;
  endedAt?: string;
}

export interface EventInfo {
  id: string;
  /** Join code: six letters and digits without 0/O/1/I, shown as `ABC-DEF`. */
  code: string;
  title: string;
  startsAt: string;
  expected: number;
  createdAt: string;
  agenda: AgendaItem[];
  clock: EventClock;
}

export type HelpState = 'waiting' | 'on-the-way' | 'resolved' | 'withdrawn';

export interface HelpRequest {
  id: number;
  attendee: string;
  name: string;
  lesson: string;
  step?: string;
  text: string;
  state: HelpState;
  createdAt: string;
  updatedAt: string;
}

/** How a step was passed: by the attendee's own check, by a check after the instructor helped, by "Solve it for me". */
export type PassedHow = 'check' | 'help' | 'solve';

export interface GridCell {
  state: 'todo' | 'failed' | 'passed';
  how?: PassedHow;
  attempts: number;
  /** Failed checks since the last pass (the "3 in a row" of stuck). */
  failuresInARow: number;
  lastFeedback?: string;
  passedAt?: string;
}

export interface GridRow {
  attendee: string;
  name: string;
  joinedAt: string;
  cells: Record<string, GridCell>;
  /** The first step of the current lesson not passed yet; absent when all are. */
  currentStep?: string;
  /** ISO time the attendee reached the current step (the previous pass, or joining / the lesson's start). */
  onStepSince?: string;
  /** Why the attendee needs help, in the instructor's words; absent when they are doing fine. */
  stuck?: string;
  /** The page is open (its event stream is connected). */
  online: boolean;
  hand?: HelpState;
  /** A room of several nodes: the node that holds the attendee's sandboxes (shadowing connects there). */
  node?: string;
}

export interface StepInfo {
  id: string;
  title: string;
}

/** The warm pool for the room's lesson: sandboxes made before the room arrives. */
export interface WarmStatus {
  lesson: string;
  /** When filling starts (the event's start − 5 min, or "warm up now"). */
  from: string;
  active: boolean;
  /** Sandboxes ready in the pool now, and how many it is filling to (0 where the lesson cannot be pooled). */
  ready: number;
  target: number;
  /** Filling stopped short: the machine reached its memory reserve. */
  memoryBound: boolean;
  /** Shared services the lesson needs (not pooled: brought up when warming starts). */
  services: string[];
}

export interface DashboardSnapshot {
  event: EventInfo;
  /** Steps of the current lesson, in order. */
  steps: StepInfo[];
  /** The current lesson's terminals (what can be shadowed), the first being the main one. */
  terminals: string[];
  rows: GridRow[];
  /** Open help requests (waiting, on the way), oldest first. */
  help: HelpRequest[];
  warm: WarmStatus;
  /** Server time of the snapshot: pages count the clock from it, not from their own clock. */
  now: string;
}

/** Server-sent events on the dashboard's stream. */
export type DashboardEvent =
  | { type: 'snapshot'; snapshot: DashboardSnapshot }
  | { type: 'row'; row: GridRow }
  | { type: 'help'; help: HelpRequest[] }
  | { type: 'warm'; warm: WarmStatus }
  | { type: 'event'; event: EventInfo; steps: StepInfo[]; terminals: string[]; now: string };

export interface RoomMessage {
  id: number;
  text: string;
  at: string;
  /** A hint to this attendee, not a broadcast to the room. */
  personal: boolean;
}

/** Whether a shadowing instructor may type: only after the attendee allowed it on their page. */
export type KeyboardState = 'none' | 'requested' | 'allowed';

/** An instructor watching one of the attendee's terminals. */
export interface ShadowState {
  lesson: string;
  terminal: string;
  keyboard: KeyboardState;
}

/**
 * The shadowing socket (/ws/shadow): terminal bytes arrive as binary OUTPUT frames (messages.ts),
 * these as text frames; the instructor's keys go as binary INPUT frames, accepted only while the
 * keyboard is allowed.
 */
export type ShadowServerMessage =
  | { type: 'size'; cols: number; rows: number }
  | { type: 'keyboard'; keyboard: KeyboardState }
  | { type: 'ended'; reason: string };
export type ShadowClientMessage = { type: 'request-keyboard' } | { type: 'release-keyboard' };

/** What an attendee's page shows of their event (the event bar, the banner, the hand). */
export interface AttendeeEventState {
  event: { id: string; title: string; code: string };
  agenda: AgendaItem[];
  clock: EventClock;
  name: string;
  hand?: { id: number; state: HelpState; text: string };
  /** The latest messages, newest last. */
  messages: RoomMessage[];
  /** An instructor is watching (and perhaps typing in) one of their terminals; `id` names that session. */
  shadow?: ShadowState & { id: number };
  now: string;
}

/** Time left on the current lesson at `now` (negative once over). */
export function clockLeftMs(agenda: readonly AgendaItem[], clock: EventClock, now: number): number {
  const item = agenda[clock.lessonIndex];
  if (!item) return 0;
  const started = Date.parse(clock.lessonStartedAt);
  const pausedNow = clock.pausedAt ? now - Date.parse(clock.pausedAt) : 0;
  const elapsed = Math.max(0, now - started - clock.pausedMs - pausedNow);
  return item.minutes * 60_000 + clock.extendedMs - elapsed;
}

/** `ABCDEF` → `ABC-DEF`: easier to read aloud and to copy from a projector. */
export const formatJoinCode = (code: string): string => `${code.slice(0, 3)}-${code.slice(3)}`;

/**
 * The grid's order: whoever needs help first — stuck, then a hand up, then the furthest behind —
 * then by name. The dashboard re-sorts with it as rows change, the server sorts its snapshot.
 */
export function needsHelpFirst(a: GridRow, b: GridRow): number {
  const rank = (row: GridRow) => (row.stuck ? 0 : row.hand === 'waiting' || row.hand === 'on-the-way' ? 1 : 2);
  const done = (row: GridRow) => Object.values(row.cells).filter((cell) => cell.state === 'passed').length;
  return rank(a) - rank(b) || done(a) - done(b) || a.name.localeCompare(b.name) || a.attendee.localeCompare(b.attendee);
}

/** A duration as m:ss (its absolute value: callers say "left" or "over"). */
export function formatMinutes(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}
