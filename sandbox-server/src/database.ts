/**
 * The server's one SQLite database (better-sqlite3, WAL) and its schema migrations.
 *
 * The schema's version is SQLite's own `user_version`: migration N brings a database from version
 * N-1 to N, each in a transaction, so a database from any earlier release upgrades in place at the
 * next start and a half-applied migration cannot exist. Migrations are only ever appended.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;
export type Statement = Database.Statement<unknown[]>;

export const migrations: readonly string[] = [
  // 1: progress per attendee, lesson and step (the only table before events existed; databases
  // made then have user_version 0 and this table already, hence IF NOT EXISTS).
  `CREATE TABLE IF NOT EXISTS step_progress (
     attendee TEXT NOT NULL,
     lesson TEXT NOT NULL,
     step TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('passed', 'solved', 'failed')),
     attempts INTEGER NOT NULL,
     first_attempt_at TEXT NOT NULL,
     passed_at TEXT,
     feedback TEXT,
     PRIMARY KEY (attendee, lesson, step)
   ) WITHOUT ROWID;`,
  // 2: workshop events — every check attempt with its feedback, events and who joined them, help
  // requests, messages to the room or to one attendee, shadowing sessions.
  `CREATE TABLE check_attempts (
     id INTEGER PRIMARY KEY,
     attendee TEXT NOT NULL,
     lesson TEXT NOT NULL,
     step TEXT NOT NULL,
     at TEXT NOT NULL,
     passed INTEGER NOT NULL,
     how TEXT NOT NULL CHECK (how IN ('check', 'help', 'solve')),
     feedback TEXT NOT NULL
   );
   CREATE INDEX check_attempts_by_attendee ON check_attempts (attendee, lesson, step);
   CREATE TABLE events (
     id TEXT PRIMARY KEY,
     code TEXT NOT NULL UNIQUE,
     title TEXT NOT NULL,
     lessons TEXT NOT NULL,
     starts_at TEXT NOT NULL,
     expected INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     lesson_index INTEGER NOT NULL DEFAULT 0,
     lesson_started_at TEXT,
     paused_at TEXT,
     paused_ms INTEGER NOT NULL DEFAULT 0,
     extended_ms INTEGER NOT NULL DEFAULT 0,
     ended_at TEXT
   );
   CREATE TABLE event_attendees (
     event_id TEXT NOT NULL REFERENCES events (id),
     attendee TEXT NOT NULL,
     name TEXT NOT NULL,
     joined_at TEXT NOT NULL,
     PRIMARY KEY (event_id, attendee)
   ) WITHOUT ROWID;
   CREATE INDEX event_attendees_by_attendee ON event_attendees (attendee, joined_at);
   CREATE TABLE help_requests (
     id INTEGER PRIMARY KEY,
     event_id TEXT NOT NULL REFERENCES events (id),
     attendee TEXT NOT NULL,
     lesson TEXT NOT NULL,
     step TEXT,
     text TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('waiting', 'on-the-way', 'resolved', 'withdrawn')),
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE INDEX help_requests_by_event ON help_requests (event_id, state);
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY,
     event_id TEXT NOT NULL REFERENCES events (id),
     attendee TEXT,
     text TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE TABLE shadow_sessions (
     id INTEGER PRIMARY KEY,
     event_id TEXT NOT NULL REFERENCES events (id),
     attendee TEXT NOT NULL,
     started_at TEXT NOT NULL,
     keyboard_at TEXT,
     ended_at TEXT
   );`,
  // 3: "warm up now": the warm pool fills from this time (else from the event's start − 5 min).
  `ALTER TABLE events ADD COLUMN warm_from TEXT;`,
  // 4: "Reset lesson": the attendee started a lesson over; attempts before it no longer count.
  `CREATE TABLE lesson_resets (
     attendee TEXT NOT NULL,
     lesson TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE INDEX lesson_resets_by_attendee ON lesson_resets (attendee, lesson);`,
  // 5: what every check reads ("with help") and every grid row ("their hand"), by attendee.
  `CREATE INDEX help_requests_by_attendee ON help_requests (event_id, attendee, id);
   CREATE INDEX help_requests_helped ON help_requests (attendee, updated_at);
   CREATE INDEX messages_by_attendee ON messages (attendee, at);
   CREATE INDEX shadow_sessions_by_attendee ON shadow_sessions (attendee);`,
];

export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(`the database is at schema version ${current}, newer than this server knows (${migrations.length}): run the newer server, or restore a backup`);
  }
  for (let version = current + 1; version <= migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version - 1]!);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}
