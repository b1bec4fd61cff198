/**
 * The one seam between the room's stores (store.ts, event-store.ts, node-store.ts) and a database:
 * the embedded SQLite file of one machine (database.ts) or the PostgreSQL server a room of several
 * nodes shares (postgres.ts). The stores are written once, in the SQL both dialects speak (`?`
 * parameters, `RETURNING`, `ON CONFLICT`, quoted camelCase aliases); the few places where the
 * dialects differ ask `dialect`.
 */

export interface Sql {
  readonly dialect: 'sqlite' | 'postgres';
  all<T>(text: string, params?: readonly unknown[]): Promise<T[]>;
  get<T>(text: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement; returns how many rows it changed. */
  run(text: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Runs `work` as one transaction, every statement of it through the `Sql` it is given: all of it
   * is committed, or none (a throw rolls back). Nothing else runs on that connection meanwhile.
   */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Tells every node of the room that something changed (delivered when the transaction commits,
   * never for a rollback). With one machine there is nobody else to tell.
   */
  notify(change: Change): Promise<void>;
}

/**
 * What changed, as a signal to re-read the store — never the data itself (feedback, names and
 * messages stay in the store; a notification is small, and a duplicate or a late one is harmless).
 */
export type Change =
  | { kind: 'progress'; attendee: string; lesson: string }
  | { kind: 'joined' | 'help' | 'presence'; event: string; attendee: string }
  | { kind: 'message'; event: string; attendee: string | null }
  | { kind: 'clock'; event: string; newLesson: boolean; ended: boolean }
  | { kind: 'placement'; attendee: string; node: string }
  | { kind: 'nodes' };

/** A change another node made, as this node hears it (`from`: the node that made it). */
export type RoomChange = Change & { from: string };

/** `?` parameters as PostgreSQL's `$1, $2, …` (the stores' SQL has no `?` inside a string literal). */
export function numberedParameters(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}
