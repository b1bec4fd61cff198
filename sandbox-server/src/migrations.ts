/**
 * The room's schema, as migrations for both databases: entry N brings a database from version N-1
 * to N, the same change in SQLite (database.ts: `user_version`) and in PostgreSQL (postgres.ts: a
 * `schema_migrations` table), each applied in one transaction. Only ever appended.
 *
 * Where the dialects differ: SQLite's rowid tables (`WITHOUT ROWID`, `INTEGER PRIMARY KEY`) are
 * PostgreSQL's plain tables and identity columns; times are ISO-8601 text written by the server in
 * both, compared as text — PostgreSQL's columns say `COLLATE "C"` so that compares bytes whatever
 * the cluster's locale, as SQLite does.
 */
export interface Migration {
  sqlite: string;
  /** When PostgreSQL needs other words for the same change. */
  postgres?: string;
}

const TIME = 'TEXT COLLATE "C"';

/** Migration 6 in either dialect: only the time columns' type differs. */
const roomOfNodes = (time: string) => `UPDATE help_requests SET state = 'withdrawn'
       WHERE state IN ('waiting', 'on-the-way')
         AND id NOT IN (SELECT MAX(id) FROM help_requests WHERE state IN ('waiting', 'on-the-way') GROUP BY event_id, attendee);
     CREATE UNIQUE INDEX help_requests_one_open ON help_requests (event_id, attendee) WHERE state IN ('waiting', 'on-the-way');
     ALTER TABLE shadow_sessions ADD COLUMN node_id TEXT;
     CREATE TABLE nodes (
       id TEXT PRIMARY KEY,
       incarnation TEXT NOT NULL,
       url TEXT NOT NULL,
       state TEXT NOT NULL CHECK (state IN ('up', 'left', 'dead')),
       accepting INTEGER NOT NULL,
       started_at ${time} NOT NULL,
       heartbeat_at ${time} NOT NULL,
       capacity TEXT NOT NULL
     );
     CREATE TABLE placements (
       attendee TEXT PRIMARY KEY,
       node_id TEXT NOT NULL,
       placed_at ${time} NOT NULL
     );
     CREATE INDEX placements_by_node ON placements (node_id);
     CREATE TABLE presence (
       node_id TEXT NOT NULL,
       attendee TEXT NOT NULL,
       pages INTEGER NOT NULL,
       PRIMARY KEY (node_id, attendee)
     );
     CREATE TABLE room_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);`;

export const migrations: readonly Migration[] = [
  // 1: progress per attendee, lesson and step (the only table before events existed; databases
  // made then have user_version 0 and this table already, hence IF NOT EXISTS).
  {
    sqlite: `CREATE TABLE IF NOT EXISTS step_progress (
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
    postgres: `CREATE TABLE IF NOT EXISTS step_progress (
       attendee TEXT NOT NULL,
       lesson TEXT NOT NULL,
       step TEXT NOT NULL,
       status TEXT NOT NULL CHECK (status IN ('passed', 'solved', 'failed')),
       attempts INTEGER NOT NULL,
       first_attempt_at ${TIME} NOT NULL,
       passed_at ${TIME},
       feedback TEXT,
       PRIMARY KEY (attendee, lesson, step)
     );`,
  },
  // 2: workshop events — every check attempt with its feedback, events and who joined them, help
  // requests, messages to the room or to one attendee, shadowing sessions.
  {
    sqlite: `CREATE TABLE check_attempts (
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
    postgres: `CREATE TABLE check_attempts (
       id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
       attendee TEXT NOT NULL,
       lesson TEXT NOT NULL,
       step TEXT NOT NULL,
       at ${TIME} NOT NULL,
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
       starts_at ${TIME} NOT NULL,
       expected INTEGER NOT NULL,
       created_at ${TIME} NOT NULL,
       lesson_index INTEGER NOT NULL DEFAULT 0,
       lesson_started_at ${TIME},
       paused_at ${TIME},
       paused_ms BIGINT NOT NULL DEFAULT 0,
       extended_ms BIGINT NOT NULL DEFAULT 0,
       ended_at ${TIME}
     );
     CREATE TABLE event_attendees (
       event_id TEXT NOT NULL REFERENCES events (id),
       attendee TEXT NOT NULL,
       name TEXT NOT NULL,
       joined_at ${TIME} NOT NULL,
       PRIMARY KEY (event_id, attendee)
     );
     CREATE INDEX event_attendees_by_attendee ON event_attendees (attendee, joined_at);
     CREATE TABLE help_requests (
       id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
       event_id TEXT NOT NULL REFERENCES events (id),
       attendee TEXT NOT NULL,
       lesson TEXT NOT NULL,
       step TEXT,
       text TEXT NOT NULL,
       state TEXT NOT NULL CHECK (state IN ('waiting', 'on-the-way', 'resolved', 'withdrawn')),
       created_at ${TIME} NOT NULL,
       updated_at ${TIME} NOT NULL
     );
     CREATE INDEX help_requests_by_event ON help_requests (event_id, state);
     CREATE TABLE messages (
       id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
       event_id TEXT NOT NULL REFERENCES events (id),
       attendee TEXT,
       text TEXT NOT NULL,
       at ${TIME} NOT NULL
     );
     CREATE TABLE shadow_sessions (
       id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
       event_id TEXT NOT NULL REFERENCES events (id),
       attendee TEXT NOT NULL,
       started_at ${TIME} NOT NULL,
       keyboard_at ${TIME},
       ended_at ${TIME}
     );`,
  },
  // 3: "warm up now": the warm pool fills from this time (else from the event's start − 5 min).
  { sqlite: 'ALTER TABLE events ADD COLUMN warm_from TEXT;', postgres: `ALTER TABLE events ADD COLUMN warm_from ${TIME};` },
  // 4: "Reset lesson": the attendee started a lesson over; attempts before it no longer count.
  {
    sqlite: `CREATE TABLE lesson_resets (attendee TEXT NOT NULL, lesson TEXT NOT NULL, at TEXT NOT NULL);
     CREATE INDEX lesson_resets_by_attendee ON lesson_resets (attendee, lesson);`,
    postgres: `CREATE TABLE lesson_resets (attendee TEXT NOT NULL, lesson TEXT NOT NULL, at ${TIME} NOT NULL);
     CREATE INDEX lesson_resets_by_attendee ON lesson_resets (attendee, lesson);`,
  },
  // 5: what every check reads ("with help") and every grid row ("their hand"), by attendee.
  {
    sqlite: `CREATE INDEX help_requests_by_attendee ON help_requests (event_id, attendee, id);
     CREATE INDEX help_requests_helped ON help_requests (attendee, updated_at);
     CREATE INDEX messages_by_attendee ON messages (attendee, at);
     CREATE INDEX shadow_sessions_by_attendee ON shadow_sessions (attendee);`,
  },
  // 6: a room of several nodes. One open hand per attendee, kept by the database (two tabs, or two
  // nodes, raising at once make one); shadowing records name the node whose socket they are; the
  // nodes themselves, where each attendee's sandboxes live (placements), which pages are open
  // where (presence), and the room's shared secrets (a cookie signed on one node is good on all).
  { sqlite: roomOfNodes('TEXT'), postgres: roomOfNodes(TIME) },
];
