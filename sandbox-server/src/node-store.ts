/**
 * The room's nodes and where each attendee's sandboxes live. Every node announces itself and what
 * it has free; a heartbeat every few seconds keeps it alive. An attendee is placed on one node
 * (a placement) and stays there: the load balancer learns it from the `opslab_node` cookie
 * (placement.ts). When that node dies, the next node the attendee reaches takes them over — one
 * node only, by compare-and-set — and a node that comes back never takes anyone back.
 */
import type { Sql } from './sql.ts';

/** What a node can take: free slots per sandbox profile, and its sandboxes now. */
export interface NodeCapacity {
  sandboxes: number;
  maxSandboxes: number;
  memoryAvailableBytes: number;
  /** How many more sandboxes of each profile it can start now (0: it cannot host that profile). */
  free: Record<string, number>;
}

export interface NodeRecord {
  id: string;
  incarnation: string;
  url: string;
  state: 'up' | 'left' | 'dead';
  accepting: boolean;
  startedAt: string;
  heartbeatAt: string;
  capacity: NodeCapacity;
  alive: boolean;
  /** Its process's connections are in the database now (always true on SQLite, which cannot tell). */
  connected: boolean;
}

/** A node whose heartbeat is older than this is dead (its machine is gone); a killed one is found at once on PostgreSQL. */
export const NODE_LEASE_MS = 15_000;

/** A node that beat within this before the room's connections came back was up when they were cut (an outage shorter than this). */
const UP_BEFORE_RESTART_MS = 3_600_000;

interface NodeRow {
  id: string;
  incarnation: string;
  url: string;
  state: NodeRecord['state'];
  accepting: number;
  started_at: string;
  heartbeat_at: string;
  capacity: string;
  connected: number | null;
  /** When the oldest connection of any node still open began (null on SQLite). */
  room_connected_since: string | null;
  /** The database's clock as it read the row. */
  now: string;
}

/**
 * The database's clock as ISO-8601 text: heartbeats are written and judged by one clock, whatever
 * the nodes' own clocks say (a node 20 s ahead would otherwise find every other node dead).
 */
function databaseNow(sql: Sql): string {
  return sql.dialect === 'postgres' ? isoText('clock_timestamp()') : "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
}

function isoText(postgresTimestamp: string): string {
  return `to_char(${postgresTimestamp} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

export class NodeStore {
  /** `leaseMs`: how long a silent node stays alive (a test may lengthen it to stay clear of the machine's speed). */
  constructor(private readonly sql: Sql, private readonly leaseMs = NODE_LEASE_MS) {}

  /**
   * A node starts. Refused while another live process holds the id (two machines given one
   * OPSLAB_NODE_ID); a restarted node is a new incarnation of its id.
   */
  /** `heartbeatAt`: a test's own time; else the database's clock. */
  async announce(node: { id: string; incarnation: string; url: string; capacity: NodeCapacity }, heartbeatAt?: Date): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const at = heartbeatAt?.toISOString() ?? (await tx.get<{ now: string }>(`SELECT ${databaseNow(tx)} AS now`))!.now;
      const held = (await this.rows(tx, node.id))[0];
      // Only a holder seen connected refuses: just after the room reconnects a dead holder looks
      // alive for a lease (below), and a whole room restarted together must start.
      if (held && held.incarnation !== node.incarnation && held.alive && held.connected) {
        throw new Error(`node id "${node.id}" is held by a live node (since ${held.startedAt}, at ${held.url}): give every node its own OPSLAB_NODE_ID`);
      }
      // A new process of this id: the sockets of the one before are gone.
      if (held?.incarnation !== node.incarnation) await this.forgetSockets(tx, node.id);
      await tx.run(
        `INSERT INTO nodes (id, incarnation, url, state, accepting, started_at, heartbeat_at, capacity) VALUES (?, ?, ?, 'up', 1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation, url = excluded.url, state = 'up', accepting = 1,
           started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, capacity = excluded.capacity`,
        [node.id, node.incarnation, node.url, at, at, JSON.stringify(node.capacity)],
      );
      await tx.notify({ kind: 'nodes' });
    });
  }

  /** False when this incarnation is no longer the node's (found dead, or the id announced again). */
  async heartbeat(id: string, incarnation: string, capacity: NodeCapacity, accepting: boolean): Promise<boolean> {
    const changed = await this.sql.run(`UPDATE nodes SET heartbeat_at = ${databaseNow(this.sql)}, capacity = ?, accepting = ? WHERE id = ? AND incarnation = ? AND state = 'up'`, [
      JSON.stringify(capacity), accepting ? 1 : 0, id, incarnation,
    ]);
    return changed === 1;
  }

  /** A clean stop: the node's attendees are placed anew at their next connection. */
  async leave(id: string, incarnation: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      if ((await tx.run("UPDATE nodes SET state = 'left', accepting = 0 WHERE id = ? AND incarnation = ?", [id, incarnation])) === 0) return;
      await tx.run('DELETE FROM placements WHERE node_id = ?', [id]);
      await this.forgetSockets(tx, id);
      await tx.notify({ kind: 'nodes' });
    });
  }

  /** The pages and shadowing sockets a node held are gone with it (left, found dead, or restarted). */
  private async forgetSockets(tx: Sql, id: string): Promise<void> {
    await tx.run('DELETE FROM presence WHERE node_id = ?', [id]);
    // An open shadowing record would count every later pass of its attendee "with help".
    await tx.run('UPDATE shadow_sessions SET ended_at = ? WHERE node_id = ? AND ended_at IS NULL', [new Date().toISOString(), id]);
  }

  private async rows(sql: Sql, id?: string): Promise<NodeRecord[]> {
    // PostgreSQL: the process of the row's incarnation lives while its connections do (postgres.ts
    // names them `opslab:<id>:<incarnation>`); a restarted process is another incarnation.
    const postgresOnly = sql.dialect === 'postgres'
      ? `, (SELECT COUNT(*) FROM pg_stat_activity a WHERE a.application_name = 'opslab:' || n.id || ':' || n.incarnation) AS connected,
         (SELECT ${isoText('MIN(a.backend_start)')} FROM pg_stat_activity a WHERE a.datname = current_database() AND a.application_name LIKE 'opslab:%') AS room_connected_since`
      : ', NULL AS connected, NULL AS room_connected_since';
    const rows = await sql.all<NodeRow>(`SELECT n.*${postgresOnly}, ${databaseNow(sql)} AS now FROM nodes n${id ? ' WHERE n.id = ?' : ''} ORDER BY n.id`, id ? [id] : []);
    return rows.map((row) => {
      const now = Date.parse(row.now);
      const beat = Date.parse(row.heartbeat_at);
      const connected = row.connected === null || row.connected > 0;
      // A database restart (or a crash it recovered from, or a failover) cut every node's
      // connections, and nobody could beat until they came back. Each node keeps its feed's
      // connection open, so in a room that was never cut the oldest connection is old; when it is
      // young, the room has just reconnected. A node that beat before that (within the hour) and not
      // since has a lease from then to come back, else the first node back would find the others dead.
      const since = row.room_connected_since === null ? undefined : Date.parse(row.room_connected_since);
      const reconnecting = since !== undefined && beat < since && since - beat < UP_BEFORE_RESTART_MS && now - since < this.leaseMs;
      return {
        id: row.id,
        incarnation: row.incarnation,
        url: row.url,
        state: row.state,
        accepting: row.accepting === 1,
        startedAt: row.started_at,
        heartbeatAt: row.heartbeat_at,
        capacity: JSON.parse(row.capacity) as NodeCapacity,
        // Killed: its connections are gone at once. Vanished with its machine: its heartbeat stops.
        alive: row.state === 'up' && (reconnecting || (now - beat < this.leaseMs && connected)),
        connected,
      };
    });
  }

  async nodes(): Promise<NodeRecord[]> {
    return this.rows(this.sql);
  }

  async node(id: string): Promise<NodeRecord | undefined> {
    return (await this.rows(this.sql, id))[0];
  }

  /**
   * Marks dead the nodes that are up in the table but not alive; returns those this call marked
   * (each node is marked by one caller only). Their pages and shadowing records are forgotten.
   */
  async sweepDead(): Promise<string[]> {
    const marked: string[] = [];
    for (const node of await this.nodes()) {
      if (node.state !== 'up' || node.alive) continue;
      const won = await this.sql.transaction(async (tx) => {
        if ((await tx.run("UPDATE nodes SET state = 'dead', accepting = 0 WHERE id = ? AND incarnation = ? AND state = 'up'", [node.id, node.incarnation])) === 0) return false;
        await this.forgetSockets(tx, node.id);
        await tx.notify({ kind: 'nodes' });
        return true;
      });
      if (won) marked.push(node.id);
    }
    return marked;
  }

  // ------------------------------------------------------------------ placements

  async placementOf(attendee: string): Promise<string | undefined> {
    return (await this.sql.get<{ node_id: string }>('SELECT node_id FROM placements WHERE attendee = ?', [attendee]))?.node_id;
  }

  /** Places a newcomer on `node`; returns where they are (another node's placement made meanwhile wins). */
  async place(attendee: string, node: string, now = new Date()): Promise<string> {
    await this.sql.run('INSERT INTO placements (attendee, node_id, placed_at) VALUES (?, ?, ?) ON CONFLICT (attendee) DO NOTHING', [attendee, node, now.toISOString()]);
    return (await this.placementOf(attendee))!;
  }

  /** Moves an attendee from a dead node to `to`: true for the one node whose compare-and-set won. */
  async takeOver(attendee: string, from: string, to: string, now = new Date()): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const moved = await tx.run('UPDATE placements SET node_id = ?, placed_at = ? WHERE attendee = ? AND node_id = ?', [to, now.toISOString(), attendee, from]);
      if (moved === 1) await tx.notify({ kind: 'placement', attendee, node: to });
      return moved === 1;
    });
  }
}
