/**
 * Wires the server together: lesson catalog → staged lesson files → sandbox backend → sessions →
 * HTTP/WebSocket server. Used by main.ts and by the integration tests (a real server on a free port).
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadCatalog } from '../../src/lessons/catalog.ts';
import { RoomServices } from './cloud/services.ts';
import type { ServerConfig } from './config.ts';
import { AttendeeIdentity } from './attendee.ts';
import { createHttpServer } from './http-server.ts';
import { defaultOrigins, PublicOrigins } from './public-origins.ts';
import { loadOrCreateKey } from './secret-key.ts';
import { stageLesson } from './lesson-staging.ts';
import { log } from './log.ts';
import type { BwrapBackend } from './sandbox/bwrap.ts';
import { createBwrapBackend } from './sandbox/create-backend.ts';
import { SessionManager, type StagedLesson } from './sessions.ts';
import { ProgressStore } from './store.ts';
import { openDatabase } from './database.ts';

export interface RunningApp {
  url: string;
  port: number;
  sessions: SessionManager;
  backend: BwrapBackend;
  services: RoomServices;
  store: ProgressStore;
  close(): Promise<void>;
}

function requireTool(tool: string, hint: string): void {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed: ${hint}`);
  }
}

export async function startApp(config: ServerConfig): Promise<RunningApp> {
  requireTool('bwrap', 'install bubblewrap (npm run setup does it)');
  if (process.getuid?.() !== 0) throw new Error('the sandbox server runs as root: it gives each sandbox its own unprivileged uid');

  const lessons = new Map<string, StagedLesson>();
  for (const lesson of loadCatalog(config.lessonsDir)) {
    lessons.set(lesson.slug, { lesson, stagedDir: stageLesson(lesson, config.stagingDir) });
  }
  const backend = createBwrapBackend(config);
  const orphans = await backend.cleanupOrphans();
  if (orphans > 0) log.warn({ orphans }, 'killed processes left by an earlier run');

  const services = new RoomServices({
    stagingDir: config.stagingDir,
    openstack: { keyPath: join(dirname(config.databasePath), 'openstack-attendees.key'), ...config.openstack },
  });
  // An instructor's cloud config is read now: a mistake in it stops the server here, naming the field.
  if (config.openstack.externalConfigPath) services.openstack();
  if (config.openstack.warmAtStart && [...lessons.values()].some((s) => s.lesson.services.includes('openstack'))) {
    void services.openstack().ready((message) => log.info(message)).catch((error) => log.error({ err: error }, 'the OpenStack cloud did not come up'));
  }
  const db = openDatabase(config.databasePath);
  const store = new ProgressStore(db);
  const sessions = new SessionManager(lessons, backend, store, {
    idleTimeoutMs: config.idleTimeoutMs,
    scrollbackBytes: config.scrollbackBytes,
    profiles: config.profiles,
    maxSandboxes: config.maxSandboxes,
    maxSandboxesPerAttendee: config.maxSandboxesPerAttendee,
    maxSandboxesPerAddress: config.maxSandboxesPerAddress,
    maxConcurrentStarts: config.maxConcurrentStarts,
    poolSize: config.poolSize,
    ...(config.poolLessons ? { poolLessons: config.poolLessons } : {}),
    services,
  });
  // Configured origins are checked before anything starts: a typo stops the server here.
  let origins = new PublicOrigins(config.publicOrigins);
  const identity = new AttendeeIdentity({
    key: loadOrCreateKey(join(dirname(config.databasePath), 'attendee-identity.key')),
    secure: config.publicOrigins.length > 0 && origins.httpsOnly,
    isKnownUnsigned: (id) => store.knows(id),
  });
  const { server, terminateSockets } = createHttpServer({
    siteDir: config.siteDir,
    sessions,
    store,
    lessonSteps: new Map([...lessons].map(([slug, s]) => [slug, s.lesson.steps.map((step) => step.id)])),
    identity,
    origins: () => origins,
    upgradeLimits: config.upgradeLimits,
    slowClients: config.slowClients,
    connectionLimits: config.connectionLimits,
    health: () => ({ sandboxes: backend.size, sessions: sessions.size }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  origins = new PublicOrigins([...defaultOrigins(config.host, port), ...config.publicOrigins]);
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  log.info({ url, lessons: [...lessons.keys()] }, 'opslab is serving');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    sessions,
    backend,
    services,
    store,
    close: () =>
      (closing ??= (async () => {
        terminateSockets();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await sessions.closeAll();
        await backend.destroyAll();
        await services.stop();
        db.close();
      })()),
  };
}
