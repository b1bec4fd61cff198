/**
 * Opens the room's store: the SQLite file of one machine by default (OPSLAB_DB), or the PostgreSQL
 * database several nodes share (OPSLAB_DATABASE_URL=postgres://…). Whichever it is, the server
 * sees the same stores (progress, events), the same secrets and the same feed of the room's changes.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { openDatabase } from './database.ts';
import { EventStore } from './event-store.ts';
import { loadInstructorToken } from './instructor.ts';
import { NodeStore } from './node-store.ts';
import { ChangeFeed, PostgresDatabase } from './postgres.ts';
import { loadOrCreateKey } from './secret-key.ts';
import type { RoomChange, Sql } from './sql.ts';
import { ProgressStore } from './store.ts';

export interface RoomStore {
  readonly kind: 'sqlite' | 'postgres';
  readonly sql: Sql;
  readonly progress: ProgressStore;
  readonly events: EventStore;
  readonly nodes: NodeStore;
  /** A 32-byte key of the room, made by whichever node asks first and the same on every node. */
  key(name: string): Promise<Buffer>;
  /** OPSLAB_INSTRUCTOR_TOKEN, or the room's own (made once); `where` says where an instructor finds it. */
  instructorToken(): Promise<{ token: string; generated: boolean; where: string }>;
  /** Hears the changes other nodes make (PostgreSQL); with one machine there are none. */
  listen(onChange: (change: RoomChange) => void, onResync: () => void): Promise<void>;
  /** Whether the room's changes reach this node now (undefined: one machine, nothing to hear). */
  readonly listening: boolean | undefined;
  close(): Promise<void>;
}

export interface RoomStoreOptions {
  databasePath: string;
  databaseUrl?: string;
  node: string;
  /** Random per process start: a node that restarts is a new incarnation of the same id. */
  incarnation: string;
  /** Every statement's and transaction's time (the store's latency in /metrics). */
  observe?: (op: 'all' | 'get' | 'run' | 'transaction', seconds: number) => void;
}

/** The same database, each call timed. */
function timed(sql: Sql, observe: NonNullable<RoomStoreOptions['observe']>): Sql {
  const time = async <T>(op: 'all' | 'get' | 'run' | 'transaction', work: () => Promise<T>): Promise<T> => {
    const began = performance.now();
    try {
      return await work();
    } finally {
      observe(op, (performance.now() - began) / 1000);
    }
  };
  return {
    dialect: sql.dialect,
    all: (text, params) => time('all', () => sql.all(text, params)),
    get: (text, params) => time('get', () => sql.get(text, params)),
    run: (text, params) => time('run', () => sql.run(text, params)),
    transaction: (work) => time('transaction', () => sql.transaction(work)),
    notify: (change) => sql.notify(change),
  };
}

export async function openRoomStore(o: RoomStoreOptions): Promise<RoomStore> {
  if (o.databaseUrl && !/^postgres(ql)?:\/\//.test(o.databaseUrl)) throw new Error('OPSLAB_DATABASE_URL must be a postgres:// (or postgresql://) URL; leave it unset for the embedded SQLite database');
  return o.databaseUrl ? postgresStore(o.databaseUrl, o.node, o.incarnation, o.observe) : sqliteStore(o.databasePath, o.observe);
}

function sqliteStore(path: string, observe: RoomStoreOptions['observe']): RoomStore {
  const file = openDatabase(path);
  const db = observe ? timed(file, observe) : file;
  const dir = dirname(path);
  return {
    kind: 'sqlite',
    sql: db,
    progress: new ProgressStore(db),
    events: new EventStore(db),
    nodes: new NodeStore(db),
    // Root-only files beside the database, as before rooms had several nodes.
    key: async (name) => loadOrCreateKey(join(dir, `${name}.key`)),
    instructorToken: async () => ({ ...loadInstructorToken(join(dir, 'instructor.token')), where: join(dir, 'instructor.token') }),
    listen: async () => undefined,
    listening: undefined,
    close: async () => file.close(),
  };
}

async function postgresStore(url: string, node: string, incarnation: string, observe: RoomStoreOptions['observe']): Promise<RoomStore> {
  const database = await PostgresDatabase.open(url, node, incarnation);
  const db = observe ? timed(database, observe) : database;
  let feed: ChangeFeed | undefined;
  /** Inserted by the first node that asks; every later one reads what it made. */
  const secret = async (name: string, make: () => string): Promise<string> => {
    await db.run('INSERT INTO room_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [name, make()]);
    return (await db.get<{ value: string }>('SELECT value FROM room_secrets WHERE name = ?', [name]))!.value;
  };
  return {
    kind: 'postgres',
    sql: db,
    progress: new ProgressStore(db),
    events: new EventStore(db),
    nodes: new NodeStore(db),
    key: async (name) => Buffer.from(await secret(`${name}.key`, () => randomBytes(32).toString('base64')), 'base64'),
    async instructorToken() {
      const fromEnv = process.env.OPSLAB_INSTRUCTOR_TOKEN;
      if (fromEnv) return { ...loadInstructorToken('', fromEnv), where: 'OPSLAB_INSTRUCTOR_TOKEN' };
      return { token: await secret('instructor.token', () => randomBytes(18).toString('base64url')), generated: true, where: 'the room database\'s room_secrets table' };
    },
    async listen(onChange, onResync) {
      feed = new ChangeFeed({ url, node, incarnation, onChange, onResync });
      await feed.start();
    },
    get listening() {
      return feed?.listening ?? false;
    },
    async close() {
      await feed?.close();
      await database.close();
    },
  };
}
