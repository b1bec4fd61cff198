/**
 * Workshop events in the database: the event and its clock, who joined under which name, help
 * requests, messages (broadcasts and hints), shadowing sessions, and the check attempts of the
 * event's attendees as the grid and the export read them. Plain rows in, plain objects out: the
 * room's live logic is workshop.ts. Tables: database.ts (migration 2).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { EventClock, HelpState, PassedHow } from '../../protocol/workshop.ts';
import type { Db, Statement } from './database.ts';

/** Read aloud without doubt: no 0/O, no 1/I. */
export const JOIN_CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
export const JOIN_CODE_LENGTH = 6;

/** What someone typed (any case, spaces or a dash) as a stored code, or undefined if it cannot be one. */
export function normalizeJoinCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== JOIN_CODE_LENGTH) return undefined;
  return [...code].every((c) => JOIN_CODE_ALPHABET.includes(c)) ? code : undefined;
}

function newJoinCode(): string {
  return Array.from({ length: JOIN_CODE_LENGTH }, () => JOIN_CODE_ALPHABET[randomInt(JOIN_CODE_ALPHABET.length)]).join('');
}

export interface EventRecord {
  id: string;
  code: string;
  title: string;
  lessons: string[];
  startsAt: string;
  expected: number;
  createdAt: string;
  clock: EventClock;
  /** Set by "warm up now": the warm pool fills from then on. */
  warmFrom?: string;
}

export interface NewEvent {
  title: string;
  lessons: string[];
  startsAt: string;
  expected: number;
}

export interface EventAttendee {
  attendee: string;
  name: string;
  joinedAt: string;
}

export interface HelpRecord {
  id: number;
  attendee: string;
  lesson: string;
  step: string | null;
  text: string;
  state: HelpState;
  createdAt: string;
  updatedAt: string;
}

export interface MessageRecord {
  id: number;
  attendee: string | null;
  text: string;
  at: string;
}

export interface AttemptRecord {
  attendee: string;
  lesson: string;
  step: string;
  at: string;
  passed: boolean;
  how: PassedHow;
  feedback: string;
}

interface EventRow {
  id: string;
  code: string;
  title: string;
  lessons: string;
  starts_at: string;
  expected: number;
  created_at: string;
  lesson_index: number;
  lesson_started_at: string | null;
  paused_at: string | null;
  paused_ms: number;
  extended_ms: number;
  ended_at: string | null;
  warm_from: string | null;
}

function toEvent(row: EventRow): EventRecord {
  return {
    id: row.id,
    code: row.code,
    title: row.title,
    lessons: JSON.parse(row.lessons) as string[],
    startsAt: row.starts_at,
    expected: row.expected,
    createdAt: row.created_at,
    clock: {
      lessonIndex: row.lesson_index,
      lessonStartedAt: row.lesson_started_at ?? row.starts_at,
      ...(row.paused_at ? { pausedAt: row.paused_at } : {}),
      pausedMs: row.paused_ms,
      extendedMs: row.extended_ms,
      ...(row.ended_at ? { endedAt: row.ended_at } : {}),
    },
    ...(row.warm_from ? { warmFrom: row.warm_from } : {}),
  };
}

const HELP_COLUMNS = 'id, attendee, lesson, step, text, state, created_at AS createdAt, updated_at AS updatedAt';
const ATTEMPT_COLUMNS = 'attendee, lesson, step, at, passed, how, feedback';
/** Attempts made after the attendee last reset that lesson (c: check_attempts). */
const SINCE_RESET = "c.at > COALESCE((SELECT MAX(r.at) FROM lesson_resets r WHERE r.attendee = c.attendee AND r.lesson = c.lesson), '')";
type AttemptRow = Omit<AttemptRecord, 'passed'> & { passed: number };
const toAttempt = (row: AttemptRow): AttemptRecord => ({ ...row, passed: row.passed === 1 });

export class EventStore {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  /** Prepared once, reused: every statement here is a constant string. */
  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  async create(event: NewEvent, now = new Date()): Promise<EventRecord> {
    for (let tries = 0; ; tries++) {
      const id = randomBytes(6).toString('hex');
      const code = newJoinCode();
      try {
        this.sql('INSERT INTO events (id, code, title, lessons, starts_at, expected, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          id, code, event.title, JSON.stringify(event.lessons), event.startsAt, event.expected, now.toISOString(),
        );
        return (await this.get(id))!;
      } catch (error) {
        // A code already taken (30 bits: rare, but the room must never share one): draw again.
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE' || tries > 20) throw error;
      }
    }
  }

  async get(id: string): Promise<EventRecord | undefined> {
    const row = this.sql('SELECT * FROM events WHERE id = ?').get(id) as EventRow | undefined;
    return row && toEvent(row);
  }

  async byCode(code: string): Promise<EventRecord | undefined> {
    const row = this.sql('SELECT * FROM events WHERE code = ?').get(code) as EventRow | undefined;
    return row && toEvent(row);
  }

  async list(): Promise<EventRecord[]> {
    return (this.sql('SELECT * FROM events ORDER BY starts_at DESC, created_at DESC').all() as EventRow[]).map(toEvent);
  }

  /** Events not ended: the ones whose rooms the server serves live. */
  async open(): Promise<EventRecord[]> {
    return (this.sql('SELECT * FROM events WHERE ended_at IS NULL').all() as EventRow[]).map(toEvent);
  }

  async saveClock(id: string, clock: EventClock): Promise<void> {
    this.sql('UPDATE events SET lesson_index = ?, lesson_started_at = ?, paused_at = ?, paused_ms = ?, extended_ms = ?, ended_at = ? WHERE id = ?').run(
      clock.lessonIndex, clock.lessonStartedAt, clock.pausedAt ?? null, clock.pausedMs, clock.extendedMs, clock.endedAt ?? null, id,
    );
  }

  async warmNow(id: string, now = new Date()): Promise<void> {
    this.sql('UPDATE events SET warm_from = COALESCE(warm_from, ?) WHERE id = ?').run(now.toISOString(), id);
  }

  /** Joins (or renames, when joining again). */
  async join(eventId: string, attendee: string, name: string, now = new Date()): Promise<void> {
    this.sql('INSERT INTO event_attendees (event_id, attendee, name, joined_at) VALUES (?, ?, ?, ?) ON CONFLICT (event_id, attendee) DO UPDATE SET name = excluded.name').run(
      eventId, attendee, name, now.toISOString(),
    );
  }

  async attendees(eventId: string): Promise<EventAttendee[]> {
    return this.sql('SELECT attendee, name, joined_at AS joinedAt FROM event_attendees WHERE event_id = ? ORDER BY joined_at').all(eventId) as EventAttendee[];
  }

  async attendee(eventId: string, attendee: string): Promise<EventAttendee | undefined> {
    return this.sql('SELECT attendee, name, joined_at AS joinedAt FROM event_attendees WHERE event_id = ? AND attendee = ?').get(eventId, attendee) as EventAttendee | undefined;
  }

  /** The event this attendee joined last, if any. */
  async eventOf(attendee: string): Promise<EventRecord | undefined> {
    const row = this.sql('SELECT e.* FROM events e JOIN event_attendees a ON a.event_id = e.id WHERE a.attendee = ? ORDER BY a.joined_at DESC LIMIT 1').get(attendee) as EventRow | undefined;
    return row && toEvent(row);
  }

  /** Raises the attendee's hand, or changes the text of the one already up. */
  async raiseHand(eventId: string, attendee: string, where: { lesson: string; step?: string }, text: string, now = new Date()): Promise<HelpRecord> {
    const at = now.toISOString();
    // The read and the write without an await between: no other call interleaves (one hand per attendee).
    const open = this.latestHand(eventId, attendee);
    if (open && open.state !== 'resolved' && open.state !== 'withdrawn') {
      this.sql('UPDATE help_requests SET text = ?, lesson = ?, step = ? WHERE id = ?').run(text, where.lesson, where.step ?? null, open.id);
    } else {
      this.sql("INSERT INTO help_requests (event_id, attendee, lesson, step, text, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?)").run(
        eventId, attendee, where.lesson, where.step ?? null, text, at, at,
      );
    }
    return this.latestHand(eventId, attendee)!;
  }

  /** The attendee's latest help request in this event. */
  async hand(eventId: string, attendee: string): Promise<HelpRecord | undefined> {
    return this.latestHand(eventId, attendee);
  }

  private latestHand(eventId: string, attendee: string): HelpRecord | undefined {
    return this.sql(`SELECT ${HELP_COLUMNS} FROM help_requests WHERE event_id = ? AND attendee = ? ORDER BY id DESC LIMIT 1`).get(eventId, attendee) as HelpRecord | undefined;
  }

  async help(id: number): Promise<(HelpRecord & { eventId: string }) | undefined> {
    return this.sql(`SELECT ${HELP_COLUMNS}, event_id AS eventId FROM help_requests WHERE id = ?`).get(id) as (HelpRecord & { eventId: string }) | undefined;
  }

  async setHelpState(id: number, state: HelpState, now = new Date()): Promise<void> {
    this.sql('UPDATE help_requests SET state = ?, updated_at = ? WHERE id = ?').run(state, now.toISOString(), id);
  }

  /** Waiting and on-the-way requests, oldest first. */
  async openHelp(eventId: string): Promise<HelpRecord[]> {
    return this.sql(`SELECT ${HELP_COLUMNS} FROM help_requests WHERE event_id = ? AND state IN ('waiting', 'on-the-way') ORDER BY id`).all(eventId) as HelpRecord[];
  }

  /** A broadcast (attendee null) or a hint to one attendee. */
  async addMessage(eventId: string, attendee: string | null, text: string, now = new Date()): Promise<MessageRecord> {
    const at = now.toISOString();
    const { lastInsertRowid } = this.sql('INSERT INTO messages (event_id, attendee, text, at) VALUES (?, ?, ?, ?)').run(eventId, attendee, text, at);
    return { id: Number(lastInsertRowid), attendee, text, at };
  }

  /** The latest messages an attendee sees (broadcasts and their hints), oldest first. */
  async messagesFor(eventId: string, attendee: string, limit: number): Promise<MessageRecord[]> {
    const rows = this.sql('SELECT id, attendee, text, at FROM messages WHERE event_id = ? AND (attendee IS NULL OR attendee = ?) ORDER BY id DESC LIMIT ?').all(eventId, attendee, limit) as MessageRecord[];
    return rows.reverse();
  }

  async startShadow(eventId: string, attendee: string, now = new Date()): Promise<number> {
    return Number(this.sql('INSERT INTO shadow_sessions (event_id, attendee, started_at) VALUES (?, ?, ?)').run(eventId, attendee, now.toISOString()).lastInsertRowid);
  }

  async shadowKeyboard(id: number, now = new Date()): Promise<void> {
    this.sql('UPDATE shadow_sessions SET keyboard_at = COALESCE(keyboard_at, ?) WHERE id = ?').run(now.toISOString(), id);
  }

  /** Shadowing sessions a stopped server left open end when it starts again (their sockets are gone). */
  async endOpenShadows(now = new Date()): Promise<void> {
    this.sql('UPDATE shadow_sessions SET ended_at = ? WHERE ended_at IS NULL').run(now.toISOString());
  }

  async endShadow(id: number, now = new Date()): Promise<void> {
    this.sql('UPDATE shadow_sessions SET ended_at = COALESCE(ended_at, ?) WHERE id = ?').run(now.toISOString(), id);
  }

  /** One attendee's check attempts in a lesson since they last reset it, in order. */
  async attempts(attendee: string, lesson: string): Promise<AttemptRecord[]> {
    return (this.sql(`SELECT ${ATTEMPT_COLUMNS} FROM check_attempts c WHERE attendee = ? AND lesson = ? AND ${SINCE_RESET} ORDER BY id`).all(attendee, lesson) as AttemptRow[]).map(toAttempt);
  }

  /** Every check attempt of the event's attendees in the event's lessons (since any reset), in order (the export). */
  async eventAttempts(event: EventRecord): Promise<AttemptRecord[]> {
    const rows = this.sql(
      `SELECT ${ATTEMPT_COLUMNS} FROM check_attempts c WHERE c.attendee IN (SELECT attendee FROM event_attendees WHERE event_id = ?) AND c.lesson IN (SELECT value FROM json_each(?)) AND ${SINCE_RESET} ORDER BY c.id`,
    ).all(event.id, JSON.stringify(event.lessons)) as AttemptRow[];
    return rows.map(toAttempt);
  }
}
