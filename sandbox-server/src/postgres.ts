/**
 * The store a room of several nodes shares: PostgreSQL (node-postgres) behind the `Sql` seam
 * (sql.ts), its migrations (migrations.ts, applied once however many nodes start together), and
 * the feed that carries every node's changes to every other (LISTEN/NOTIFY on one channel).
 */
import pg from 'pg';
import { log } from './log.ts';
import { migrations } from './migrations.ts';
import { numberedParameters, type Change, type RoomChange, type Sql } from './sql.ts';

/** LISTEN/NOTIFY is scoped to the database: one room, one database, one channel. */
export const CHANGES_CHANNEL = 'opslab_changes';
/** Any constant: the advisory lock that makes nodes starting together migrate one after another. */
const MIGRATION_LOCK = 7_317_001;
/** PostgreSQL's limit is 8000 bytes; a change is a signal of ids, never near it. */
const MAX_PAYLOAD = 1024;

/**
 * A broken connection's error, for the log: pg-pool hangs the client on it, and the client holds its
 * connection parameters — the database's password among them.
 */
function withoutClient(error: Error): { message: string; code?: string } {
  return { message: error.message, code: (error as { code?: string }).code };
}

/**
 * Names the node's connections in pg_stat_activity: while any is there, the node lives
 * (node-store.ts). At most 7 + 40 (OPSLAB_NODE_ID) + 1 + 12 characters: within PostgreSQL's 63.
 */
const applicationName = (node: string, incarnation: string) => `opslab:${node}:${incarnation}`;

function clientConfig(url: string, applicationName: string): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    connectionTimeoutMillis: 5_000,
    // A server gone dark (no reset, no answer) must not hold a Check for TCP's minutes.
    query_timeout: 15_000,
    // A statement that hangs, or a transaction left open, cannot hold the room's rows for long.
    statement_timeout: 10_000,
    idle_in_transaction_session_timeout: 10_000,
    // BIGINT (COUNT, milliseconds) as a number, as SQLite gives it: the values stay far below 2^53.
    types: { getTypeParser: ((oid: number, format?: string) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
  };
}

export class PostgresDatabase implements Sql {
  readonly dialect = 'postgres';

  private constructor(
    private readonly pool: pg.Pool,
    /** Who this node is, in every change it sends. */
    private readonly from: string,
    private readonly client?: pg.PoolClient,
  ) {}

  /** Connects, and brings the schema up to date (once, whatever other nodes start meanwhile). */
  static async open(url: string, node: string, incarnation: string): Promise<PostgresDatabase> {
    const pool = new pg.Pool({ ...clientConfig(url, applicationName(node, incarnation)), max: 10, idleTimeoutMillis: 30_000 });
    // An idle pooled connection that breaks (the server restarted) must not stop the node.
    pool.on('error', (error) => log.warn({ error: withoutClient(error) }, 'a PostgreSQL connection broke: the next query opens another'));
    try {
      await migrate(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresDatabase(pool, node);
  }

  private get queryable(): pg.Pool | pg.PoolClient {
    return this.client ?? this.pool;
  }

  async all<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.queryable.query(numberedParameters(text), params as unknown[])).rows as T[];
  }

  async get<T>(text: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(text, params))[0];
  }

  async run(text: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.queryable.query(numberedParameters(text), params as unknown[])).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    if (this.client) return work(this);
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // The pool stops listening for a client's errors while it is lent: a connection dropped mid-
    // transaction would otherwise be an uncaught 'error' and stop the node.
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(new PostgresDatabase(this.pool, this.from, client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken); // a connection that broke or cannot roll back is closed, not reused
    }
  }

  /** Inside a transaction, PostgreSQL delivers it at the commit, and never for a rollback. */
  async notify(change: Change): Promise<void> {
    const payload = JSON.stringify({ ...change, from: this.from } satisfies RoomChange);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) throw new Error(`a change notification of ${Buffer.byteLength(payload)} bytes: changes are ids, at most ${MAX_PAYLOAD} bytes`);
    await this.queryable.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const current = Number((await client.query('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations')).rows[0].version);
    if (current > migrations.length) {
      throw new Error(`the database is at schema version ${current}, newer than this server knows (${migrations.length}): upgrade every node of the room together`);
    }
    for (let version = current + 1; version <= migrations.length; version++) {
      const migration = migrations[version - 1]!;
      await client.query(migration.postgres);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, new Date().toISOString()]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export interface FeedOptions {
  url: string;
  node: string;
  incarnation: string;
  /** A change another node made. */
  onChange(change: RoomChange): void;
  /** The feed was down and is back: changes made meanwhile were not heard — re-read everything shown. */
  onResync(): void;
}

const PING_MS = 10_000;
const PING_TIMEOUT_MS = 3_000;

/**
 * The node's one listening connection (its own, not the pool's). It also says the node is alive:
 * its application_name is in pg_stat_activity while the process lives, and gone within
 * milliseconds of a kill -9 (the kernel closes the socket). A lost connection is opened again with
 * a growing pause (250 ms to 5 s); a ping every 10 s finds one that died without a word.
 */
export class ChangeFeed {
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 250;
  private heardOnce = false;
  private readonly ping: NodeJS.Timeout;
  /** Whether this node hears the room now (/api/health). */
  listening = false;

  constructor(private readonly o: FeedOptions) {
    this.ping = setInterval(() => void this.checkAlive(), PING_MS);
    this.ping.unref();
  }

  /**
   * Resolves once listening, so a node that starts hears every change after; a node that cannot
   * listen at its start does not start.
   */
  async start(): Promise<void> {
    await this.connect().catch(async (error: unknown) => {
      await this.close();
      throw error;
    });
  }

  /** A connection and its LISTEN; one that fails is given up like one lost later (`lost`). */
  private async connect(): Promise<void> {
    const client = new pg.Client(clientConfig(this.o.url, applicationName(this.o.node, this.o.incarnation)));
    this.client = client;
    client.on('error', (error) => {
      log.warn({ error: withoutClient(error) }, 'the room\'s change feed broke');
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
      let change: RoomChange;
      try {
        change = JSON.parse(message.payload) as RoomChange;
      } catch {
        return; // not ours: every node writes JSON
      }
      if (change.from !== this.o.node) this.o.onChange(change);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      this.lost(client); // once per client, whatever else saw it fail: one retry scheduled, not two
      throw error;
    }
    this.listening = true;
    this.retryMs = 250;
    if (this.heardOnce) this.o.onResync();
    this.heardOnce = true;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.listening = false;
    client.end().catch(() => undefined);
    if (!this.closed) this.reconnectLater();
  }

  private reconnectLater(): void {
    const wait = this.retryMs * (0.75 + Math.random() / 2);
    this.retryMs = Math.min(5_000, this.retryMs * 2);
    const timer = setTimeout(() => {
      if (this.closed) return;
      this.connect().catch((error) => log.warn({ err: error }, 'the room\'s change feed cannot reconnect yet'));
    }, wait);
    timer.unref();
  }

  private async checkAlive(): Promise<void> {
    const client = this.client;
    if (!client || !this.listening) return;
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), PING_TIMEOUT_MS).unref());
    const answer = await Promise.race([client.query('SELECT 1').then(() => 'ok' as const, () => 'error' as const), timeout]);
    if (answer !== 'ok') this.lost(client);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ping);
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }
}
