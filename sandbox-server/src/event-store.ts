/**
 * Workshop events in the database: the event and its clock, who joined under which name, help
 * requests, messages (broadcasts and hints), shadowing sessions, and the check attempts of the
 * event's attendees as the grid and the export read them. Plain rows in, plain objects out: the
 * room's live logic is workshop.ts. Tables: migrations.ts (2 and 6). Every write tells the room (sql.ts `notify`).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { EventClock, HelpState, PassedHow } from '../../protocol/workshop.ts';
import type { Sql } from './sql.ts';

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

const HELP_COLUMNS = 'id, attendee, lesson, step, text, state, created_at AS "createdAt", updated_at AS "updatedAt"';
const ATTEMPT_COLUMNS = 'attendee, lesson, step, at, passed, how, feedback';
/** Attempts made after the attendee last reset that lesson (c: check_attempts). */
const SINCE_RESET = "c.at > COALESCE((SELECT MAX(r.at) FROM lesson_resets r WHERE r.attendee = c.attendee AND r.lesson = c.lesson), '')";
type AttemptRow = Omit<AttemptRecord, 'passed'> & { passed: number };
const toAttempt = (row: AttemptRow): AttemptRecord => ({ ...row, passed: row.passed === 1 });
const isOpen = (state: HelpState) => state === 'waiting' || state === 'on-the-way';

export class EventStore {
  constructor(private readonly sql: Sql) {}

  async create(event: NewEvent, now = new Date()): Promise<EventRecord> {
    for (let tries = 0; tries < 20; tries++) {
      const id = randomBytes(6).toString('hex');
      // A code already taken (30 bits: rare, but the room must never share one): draw again.
      const made = await this.sql.run('INSERT INTO events (id, code, title, lessons, starts_at, expected, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
        id, newJoinCode(), event.title, JSON.stringify(event.lessons), event.startsAt, event.expected, now.toISOString(),
      ]);
      if (made === 1) return (await this.get(id))!;
    }
    throw new Error('no free join code after 20 draws');
  }

  async get(id: string): Promise<EventRecord | undefined> {
    const row = await this.sql.get<EventRow>('SELECT * FROM events WHERE id = ?', [id]);
    return row && toEvent(row);
  }

  async byCode(code: string): Promise<EventRecord | undefined> {
    const row = await this.sql.get<EventRow>('SELECT * FROM events WHERE code = ?', [code]);
    return row && toEvent(row);
  }

  async list(): Promise<EventRecord[]> {
    return (await this.sql.all<EventRow>('SELECT * FROM events ORDER BY starts_at DESC, created_at DESC')).map(toEvent);
  }

  /** Events not ended: the ones whose rooms the server serves live. */
  async open(): Promise<EventRecord[]> {
    return (await this.sql.all<EventRow>('SELECT * FROM events WHERE ended_at IS NULL')).map(toEvent);
  }

  /**
   * Reads the event's clock, changes it and saves it in one transaction (the row locked on
   * PostgreSQL): two instructors, or two nodes, cannot lose each other's "extend". `change` may
   * throw — nothing is saved then.
   */
  async updateClock(id: string, change: (record: EventRecord) => EventClock): Promise<EventRecord> {
    return this.sql.transaction(async (tx) => {
      const row = await tx.get<EventRow>(`SELECT * FROM events WHERE id = ?${tx.dialect === 'postgres' ? ' FOR UPDATE' : ''}`, [id]);
      if (!row) throw new Error(`there is no event ${id}`);
      const before = toEvent(row);
      const clock = change(before);
      await tx.run('UPDATE events SET lesson_index = ?, lesson_started_at = ?, paused_at = ?, paused_ms = ?, extended_ms = ?, ended_at = ? WHERE id = ?', [
        clock.lessonIndex, clock.lessonStartedAt, clock.pausedAt ?? null, clock.pausedMs, clock.extendedMs, clock.endedAt ?? null, id,
      ]);
      await tx.notify({ kind: 'clock', event: id, newLesson: clock.lessonIndex !== before.clock.lessonIndex, ended: Boolean(clock.endedAt) });
      return { ...before, clock };
    });
  }

  async warmNow(id: string, now = new Date()): Promise<void> {
    await this.sql.run('UPDATE events SET warm_from = COALESCE(warm_from, ?) WHERE id = ?', [now.toISOString(), id]);
  }

  /** Joins (or renames, when joining again). */
  async join(eventId: string, attendee: string, name: string, now = new Date()): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.run('INSERT INTO event_attendees (event_id, attendee, name, joined_at) VALUES (?, ?, ?, ?) ON CONFLICT (event_id, attendee) DO UPDATE SET name = excluded.name', [
        eventId, attendee, name, now.toISOString(),
      ]);
      await tx.notify({ kind: 'joined', event: eventId, attendee });
    });
  }

  async attendees(eventId: string): Promise<EventAttendee[]> {
    return this.sql.all<EventAttendee>('SELECT attendee, name, joined_at AS "joinedAt" FROM event_attendees WHERE event_id = ? ORDER BY joined_at', [eventId]);
  }

  async attendee(eventId: string, attendee: string): Promise<EventAttendee | undefined> {
    return this.sql.get<EventAttendee>('SELECT attendee, name, joined_at AS "joinedAt" FROM event_attendees WHERE event_id = ? AND attendee = ?', [eventId, attendee]);
  }

  /** The event this attendee joined last, if any. */
  async eventOf(attendee: string): Promise<EventRecord | undefined> {
    const row = await this.sql.get<EventRow>('SELECT e.* FROM events e JOIN event_attendees a ON a.event_id = e.id WHERE a.attendee = ? ORDER BY a.joined_at DESC LIMIT 1', [attendee]);
    return row && toEvent(row);
  }

  /**
   * Raises the attendee's hand, or changes the text of the one already up: the database holds one
   * open hand per attendee (a unique index), so two tabs or two nodes raising at once make one.
   */
  async raiseHand(eventId: string, attendee: string, where: { lesson: string; step?: string }, text: string, now = new Date()): Promise<HelpRecord> {
    const at = now.toISOString();
    return this.sql.transaction(async (tx) => {
      const hand = await tx.get<HelpRecord>(
        `INSERT INTO help_requests (event_id, attendee, lesson, step, text, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?)
         ON CONFLICT (event_id, attendee) WHERE state IN ('waiting', 'on-the-way') DO UPDATE SET text = excluded.text, lesson = excluded.lesson, step = excluded.step
         RETURNING ${HELP_COLUMNS}`,
        [eventId, attendee, where.lesson, where.step ?? null, text, at, at],
      );
      await tx.notify({ kind: 'help', event: eventId, attendee });
      return hand!;
    });
  }

  /** The attendee's latest help request in this event. */
  async hand(eventId: string, attendee: string): Promise<HelpRecord | undefined> {
    return this.sql.get<HelpRecord>(`SELECT ${HELP_COLUMNS} FROM help_requests WHERE event_id = ? AND attendee = ? ORDER BY id DESC LIMIT 1`, [eventId, attendee]);
  }

  async help(id: number): Promise<(HelpRecord & { eventId: string }) | undefined> {
    return this.sql.get<HelpRecord & { eventId: string }>(`SELECT ${HELP_COLUMNS}, event_id AS "eventId" FROM help_requests WHERE id = ?`, [id]);
  }

  async setHelpState(id: number, state: HelpState, now = new Date()): Promise<void> {
    await this.sql.transaction(async (tx) => {
      // A closed hand is not opened again here (raiseHand opens one); that would break "one open hand".
      const changed = await tx.get<{ event_id: string; attendee: string }>(
        `UPDATE help_requests SET state = ?, updated_at = ? WHERE id = ?${isOpen(state) ? " AND state IN ('waiting', 'on-the-way')" : ''} RETURNING event_id, attendee`,
        [state, now.toISOString(), id],
      );
      if (changed) await tx.notify({ kind: 'help', event: changed.event_id, attendee: changed.attendee });
    });
  }

  /** Waiting and on-the-way requests, oldest first. */
  async openHelp(eventId: string): Promise<HelpRecord[]> {
    return this.sql.all<HelpRecord>(`SELECT ${HELP_COLUMNS} FROM help_requests WHERE event_id = ? AND state IN ('waiting', 'on-the-way') ORDER BY id`, [eventId]);
  }

  /** A broadcast (attendee null) or a hint to one attendee. */
  async addMessage(eventId: string, attendee: string | null, text: string, now = new Date()): Promise<MessageRecord> {
    const at = now.toISOString();
    return this.sql.transaction(async (tx) => {
      const { id } = (await tx.get<{ id: number }>('INSERT INTO messages (event_id, attendee, text, at) VALUES (?, ?, ?, ?) RETURNING id', [eventId, attendee, text, at]))!;
      await tx.notify({ kind: 'message', event: eventId, attendee });
      return { id, attendee, text, at };
    });
  }

  /** The latest messages an attendee sees (broadcasts and their hints), oldest first. */
  async messagesFor(eventId: string, attendee: string, limit: number): Promise<MessageRecord[]> {
    const rows = await this.sql.all<MessageRecord>('SELECT id, attendee, text, at FROM messages WHERE event_id = ? AND (attendee IS NULL OR attendee = ?) ORDER BY id DESC LIMIT ?', [eventId, attendee, limit]);
    return rows.reverse();
  }

  /** A shadowing session, recorded with the node whose socket it is. */
  async startShadow(eventId: string, attendee: string, node: string, now = new Date()): Promise<number> {
    return (await this.sql.get<{ id: number }>('INSERT INTO shadow_sessions (event_id, attendee, started_at, node_id) VALUES (?, ?, ?, ?) RETURNING id', [eventId, attendee, now.toISOString(), node]))!.id;
  }

  async shadowKeyboard(id: number, now = new Date()): Promise<void> {
    await this.sql.run('UPDATE shadow_sessions SET keyboard_at = COALESCE(keyboard_at, ?) WHERE id = ?', [now.toISOString(), id]);
  }

  /**
   * The one machine of a room on SQLite, at its start: the shadowing sessions a stop left open end
   * (their sockets died with it). A room of several nodes ends a node's own (node-store.ts).
   */
  async endOpenShadows(now = new Date()): Promise<void> {
    await this.sql.run('UPDATE shadow_sessions SET ended_at = ? WHERE ended_at IS NULL', [now.toISOString()]);
  }

  async endShadow(id: number, now = new Date()): Promise<void> {
    await this.sql.run('UPDATE shadow_sessions SET ended_at = COALESCE(ended_at, ?) WHERE id = ?', [now.toISOString(), id]);
  }

  /** Whether the attendee has a page open on this node (the grid's "online" on every node). */
  async setPresence(node: string, attendee: string, eventId: string, online: boolean): Promise<void> {
    await this.sql.transaction(async (tx) => {
      if (online) await tx.run('INSERT INTO presence (node_id, attendee, pages) VALUES (?, ?, 1) ON CONFLICT (node_id, attendee) DO NOTHING', [node, attendee]);
      else await tx.run('DELETE FROM presence WHERE node_id = ? AND attendee = ?', [node, attendee]);
      await tx.notify({ kind: 'presence', event: eventId, attendee });
    });
  }

  async onlineElsewhere(attendee: string, node: string): Promise<boolean> {
    return (await this.sql.get('SELECT 1 AS online FROM presence WHERE attendee = ? AND node_id <> ? LIMIT 1', [attendee, node])) !== undefined;
  }

  /** One attendee's check attempts in a lesson since they last reset it, in order. */
  async attempts(attendee: string, lesson: string): Promise<AttemptRecord[]> {
    return (await this.sql.all<AttemptRow>(`SELECT ${ATTEMPT_COLUMNS} FROM check_attempts c WHERE attendee = ? AND lesson = ? AND ${SINCE_RESET} ORDER BY id`, [attendee, lesson])).map(toAttempt);
  }

  /** Every check attempt of the event's attendees in the event's lessons (since any reset), in order (the export). */
  async eventAttempts(event: EventRecord): Promise<AttemptRecord[]> {
    if (event.lessons.length === 0) return [];
    const rows = await this.sql.all<AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS} FROM check_attempts c WHERE c.attendee IN (SELECT attendee FROM event_attendees WHERE event_id = ?) AND c.lesson IN (${event.lessons.map(() => '?').join(', ')}) AND ${SINCE_RESET} ORDER BY c.id`,
      [event.id, ...event.lessons],
    );
    return rows.map(toAttempt);
  }
}
