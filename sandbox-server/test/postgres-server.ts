/**
 * A PostgreSQL server of the test's own, from Debian's postgresql-15: a cluster made by initdb in a
 * temporary folder, run as the `postgres` system user, listening on a unix socket in that folder
 * only (no TCP port at all), stopped and removed by the test. It never touches the host's cluster
 * (15/main on 5432) or its data.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

const BIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  /** The socket's folder: node-postgres' `host`. */
  socketDir: string;
  port: number;
  /** A `postgres://` URL for a database, over the unix socket (percent-encoded host). */
  url(database: string): string;
  /** Makes a new, empty database and returns its name. */
  createDatabase(prefix?: string): Promise<string>;
  /**
   * Stops it as a crash would (every connection cut, no checkpoint) and starts it again. The event
   * loop runs meanwhile, so clients see their connections close as they would in production.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs a PostgreSQL binary as the postgres user (the server refuses to run as root). */
function asPostgres(binary: string, args: string[]): string {
  const result = spawnSync('runuser', ['-u', 'postgres', '--', join(BIN, binary), ...args], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new Error(`${binary} ${args.join(' ')} failed (${result.status}): ${result.error?.message ?? ''}${result.stderr}${result.stdout}`);
  return result.stdout;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`${BIN}/initdb is missing: apt-get install postgresql-15 (npm run setup installs it)`);
  const dir = mkdtempSync(join(tmpdir(), 'opslab-pg-'));
  const { uid, gid } = postgresUser();
  chmodSync(dir, 0o700);
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  // A port number only names the socket file (.s.PGSQL.<port>); with no TCP listener it cannot clash.
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  asPostgres('initdb', ['-D', data, '-U', 'opslab', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const startArgs = ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '120', 'start', '-o', `-c listen_addresses='' -k ${dir} -p ${port} -c fsync=off`];
  asPostgres('pg_ctl', startArgs);
  let databases = 0;
  const admin = () => new pg.Client({ host: dir, port, user: 'opslab', database: 'postgres' });
  return {
    socketDir: dir,
    port,
    url: (database) => `postgres://opslab@${encodeURIComponent(dir)}:${port}/${database}`,
    async createDatabase(prefix = 'opslab_test') {
      const name = `${prefix}_${process.pid}_${++databases}`;
      const client = admin();
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return name;
    },
    async restart() {
      await run('runuser', ['-u', 'postgres', '--', join(BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
      await run('runuser', ['-u', 'postgres', '--', join(BIN, 'pg_ctl'), ...startArgs]);
    },
    async stop() {
      asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
