/**
 * The tests' own PostgreSQL: Debian's 15, started in a temporary folder on a unix socket only,
 * reachable through node-postgres, stopped and gone after — and the host's cluster untouched.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { startTestPostgres } from './postgres-server.ts';

test('a private PostgreSQL 15: a socket of its own, no TCP port, gone after stop', async () => {
  const hostCluster = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' });
  const server = await startTestPostgres();
  try {
    const database = await server.createDatabase();
    const client = new pg.Client({ host: server.socketDir, port: server.port, user: 'opslab', database });
    await client.connect();
    const { rows } = await client.query<{ version: string; db: string }>('SELECT version() AS version, current_database() AS db');
    await client.end();
    assert.match(rows[0]!.version, /^PostgreSQL 15\./);
    assert.equal(rows[0]!.db, database);
    // The server's postmaster listens on nothing but its socket.
    const pid = readFileSync(`${server.socketDir}/data/postmaster.pid`, 'utf8').split('\n')[0]!;
    const tcp = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(`pid=${pid},`));
    assert.deepEqual(tcp, [], 'no TCP listener');
    assert.ok(existsSync(`${server.socketDir}/.s.PGSQL.${server.port}`), 'its unix socket');
    // The URL form the store will take (OPSLAB_DATABASE_URL), socket folder as the host.
    const byUrl = new pg.Client({ connectionString: server.url(database) });
    await byUrl.connect();
    assert.equal((await byUrl.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
    await byUrl.end();
  } finally {
    await server.stop();
  }
  assert.equal(existsSync(server.socketDir), false, 'its folder is gone');
  assert.equal(execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' }), hostCluster, 'the host\'s cluster is as it was');
});
