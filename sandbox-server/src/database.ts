/**
 * The embedded database of one machine: a SQLite file (better-sqlite3, WAL) behind the `Sql` seam
 * (sql.ts), and its migrations (migrations.ts). The zero-setup default: a room of several nodes
 * shares PostgreSQL instead (postgres.ts).
 *
 * The schema's version is SQLite's own `user_version`, so a database from any earlier release
 * upgrades in place at the next start and a half-applied migration cannot exist.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from './migrations.ts';
import type { Change, Sql } from './sql.ts';

type Statement = Database.Statement<unknown[]>;

/**
 * better-sqlite3 runs each statement synchronously, so a statement can never interleave with
 * another; a transaction, though, spans awaits. While one is open, other callers' statements wait
 * for it (one connection, one transaction at a time) — the same isolation PostgreSQL's pool gives.
 */
export class SqliteDatabase implements Sql {
  readonly dialect = 'sqlite';
  private readonly statements = new Map<string, Statement>();
  private transactionDone: Promise<void> | undefined;

  constructor(readonly db: Database.Database) {}

  /** Prepared once, reused: the stores' statements are constant strings. */
  private prepare(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /**
   * Runs `statement` once no transaction is open. The check and the statement run in one tick, with
   * no await between them: a transaction cannot begin in between and take the statement in.
   */
  private async whenIdle<T>(statement: () => T): Promise<T> {
    while (this.transactionDone) await this.transactionDone;
    return statement();
  }

  all<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.whenIdle(() => this.prepare(text).all(...params) as T[]);
  }

  get<T>(text: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.whenIdle(() => this.prepare(text).get(...params) as T | undefined);
  }

  run(text: string, params: readonly unknown[] = []): Promise<number> {
    return this.whenIdle(() => this.prepare(text).run(...params).changes);
  }

  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    while (this.transactionDone) await this.transactionDone;
    let done!: () => void;
    this.transactionDone = new Promise((resolve) => (done = resolve));
    const tx: Sql = {
      dialect: 'sqlite',
      all: async <R>(text: string, params: readonly unknown[] = []) => this.prepare(text).all(...params) as R[],
      get: async <R>(text: string, params: readonly unknown[] = []) => this.prepare(text).get(...params) as R | undefined,
      run: async (text, params = []) => this.prepare(text).run(...params).changes,
      transaction: (inner) => inner(tx),
      notify: async () => undefined,
    };
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(tx);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.transactionDone = undefined;
      done();
    }
  }

  /** One machine: no other node to tell. */
  async notify(_change: Change): Promise<void> {}

  close(): void {
    this.db.close();
  }
}

export function openDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return new SqliteDatabase(db);
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Database.Database): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    db.close();
    throw new Error(`the database is at schema version ${current}, newer than this server knows (${migrations.length}): run the newer server, or restore a backup`);
  }
  for (let version = current + 1; version <= migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version - 1]!.sqlite);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}
