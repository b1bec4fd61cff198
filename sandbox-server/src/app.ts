/**
 * Wires the server together: lesson catalog → staged lesson files → sandbox backend → sessions →
 * HTTP/WebSocket server. Used by main.ts and by the integration tests (a real server on a free port).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { watchLessons, type LessonWatch } from './lesson-watch.ts';
import { loadCatalog } from '../../lesson-model/catalog.ts';
import { RoomServices } from './shared-services.ts';
import type { ServerConfig } from './config.ts';
import { AttendeeIdentity } from './attendee.ts';
import { createHttpServer } from './http-server.ts';
import { defaultOrigins, PublicOrigins } from './public-origins.ts';
import { stageLesson } from './lesson-staging.ts';
import { log } from './log.ts';
import type { BwrapBackend } from './sandbox/bwrap.ts';
import { createBwrapBackend } from './sandbox/create-backend.ts';
import { SessionManager, type StagedLesson } from './sessions.ts';
import type { ProgressStore } from './store.ts';
import { openRoomStore, type RoomStore } from './room-store.ts';
import { InstructorAccess } from './instructor.ts';
import { Workshop } from './workshop.ts';
import { ClientAddresses } from './client-address.ts';
import type { IncomingMessage } from 'node:http';
import { Placement } from './placement.ts';
import { NodeMetrics, serveMetrics } from './metrics.ts';
import { createWorkshopApi } from './workshop-api.ts';
import { handleShadow } from './shadow.ts';

export interface RunningApp {
  url: string;
  port: number;
  sessions: SessionManager;
  backend: BwrapBackend;
  services: RoomServices;
  store: ProgressStore;
  room: RoomStore;
  workshop: Workshop;
  /** The instructor token (OPSLAB_INSTRUCTOR_TOKEN, or the room's own). */
  instructorToken: string;
  /** In authoring mode: the lessons' watcher (its re-stages). */
  lessonWatch?: LessonWatch;
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
  // The lessons as the workshop and the progress API see them; in authoring mode, a saved lesson
  // replaces its entry (the sessions see it through their staged entry).
  const current = new Map([...lessons].map(([slug, s]) => [slug, s.lesson]));
  const lessonWatch = config.authoring ? watchLessons(config.lessonsDir, lessons, config.stagingDir, (lesson) => current.set(lesson.slug, lesson)) : undefined;
  const backend = createBwrapBackend(config);
  const orphans = await backend.cleanupOrphans();
  if (orphans > 0) log.warn({ orphans }, 'killed processes left by an earlier run');

  const incarnation = randomBytes(6).toString('hex');
  // Its sources are read at each scrape, from the parts made below.
  const metrics: NodeMetrics = new NodeMetrics(config.nodeId, {
    liveSandboxes: (): Array<{ lesson: string; profile: string }> => sessions.liveSandboxes(),
    turnsWaiting: () => backend.turnsWaiting,
    echoQueues: () => sessions.echoQueues(),
    chargedMemoryBytes: () => backend.chargedMemoryBytes,
    chargedCpuSeconds: () => backend.chargedCpuSeconds,
    accepting: () => placement?.accepting ?? true,
    listening: () => room.listening,
  });
  const room = await openRoomStore({
    databasePath: config.databasePath,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    node: config.nodeId,
    incarnation,
    observe: (op, seconds) => metrics.storeTimed(op, seconds),
  });
  const services = new RoomServices({ stagingDir: config.stagingDir, key: (name) => room.key(name), serviceOptions: config.serviceOptions, root: config.servicesDir });
  // The lessons' services are loaded now: a broken plug-in or setting (an instructor's cloud config)
  // stops the server here, naming the file and field; those set to start with the server start.
  await services.prepare([...lessons.values()].map((s) => s.lesson));
  const store = room.progress;
  let workshop: Workshop | undefined;
  const sessions = new SessionManager(lessons, backend, store, {
    idleTimeoutMs: config.idleTimeoutMs,
    scrollbackBytes: config.scrollbackBytes,
    profiles: config.profiles,
    maxSandboxes: config.maxSandboxes,
    maxSandboxesPerAttendee: config.maxSandboxesPerAttendee,
    maxSandboxesPerAddress: config.maxSandboxesPerAddress,
    maxConcurrentStarts: config.maxConcurrentStarts,
    poolSize: config.poolSize,
    poolMemoryReserveBytes: config.poolMemoryReserveBytes,
    ...(config.poolLessons ? { poolLessons: config.poolLessons } : {}),
    services,
    metrics,
    onStepRecorded: (attendee, lesson) => void workshop?.stepRecorded(attendee, lesson).catch((error) => log.error({ err: error }, 'updating the grid failed')),
  });
  workshop = new Workshop({
    node: config.nodeId,
    ...(room.kind === 'postgres'
      ? {
          nodeOf: (attendee: string) => room.nodes.placementOf(attendee),
          warmShare: async () => 1 / Math.max(1, (await room.nodes.nodes()).filter((node) => node.alive && node.accepting).length),
        }
      : { alone: true }),
    events: room.events,
    progress: store,
    lessons: current,
    endGraceMs: config.eventEndGraceMs,
    stopSandboxes: async (attendee, message) => {
      for (const session of sessions.sandboxesOf(attendee)) await session.stop(message);
    },
    warm: {
      setTargets: (targets) => void sessions.pool.setTargets(targets).catch((error) => log.error({ err: error }, 'the warm pool could not give sandboxes back')),
      status: (lesson) => sessions.pool.status(lesson),
      canPool: (lesson) => sessions.pool.canPool(lesson),
      holdsSandbox: (attendee, lesson) => Boolean(sessions.existing(attendee, lesson)?.holdsSandbox),
      bringUpServices: (lesson) => {
        for (const name of current.get(lesson)?.services ?? []) services.warm(name);
      },
    },
  });
  await workshop.start();
  // Changes other nodes make reach this node's dashboards and pages (a room on PostgreSQL).
  await room.listen(
    (change) => void workshop.roomChanged(change).catch((error) => log.error({ err: error, change }, 'showing another node\'s change failed')),
    () => void workshop.resync().catch((error) => log.error({ err: error }, 'refreshing after the room\'s feed came back failed')),
  );
  // Configured origins are checked before anything starts: a typo stops the server here.
  let origins = new PublicOrigins(config.publicOrigins);
  const key = await room.key('attendee-identity');
  // Every public origin is https: the cookies say Secure.
  const secureCookies = config.publicOrigins.length > 0 && origins.httpsOnly;
  const identity = new AttendeeIdentity({
    key,
    secure: secureCookies,
    isKnownUnsigned: (id) => store.knows(id),
  });
  const { token: instructorToken, generated, where: tokenWhere } = await room.instructorToken();
  // A room of several nodes (a shared PostgreSQL): this node announces itself and places attendees.
  const placement = room.kind === 'postgres'
    ? new Placement({
        nodes: room.nodes,
        self: { id: config.nodeId, incarnation },
        profiles: config.profiles,
        maxSandboxes: config.maxSandboxes,
        sandboxes: () => backend.size,
        reserveBytes: config.poolMemoryReserveBytes,
        profileOf: (lesson) => current.get(lesson)?.profile,
        onTakeover: () => metrics.tookOver(),
        onAnnouncedAgain: () => void workshop.presenceAgain().catch((error) => log.error({ err: error }, 'telling the room this node\'s open pages failed')),
        secureCookies,
      })
    : undefined;
  const instructor = new InstructorAccess(key, instructorToken, secureCookies);
  const clientAddresses = new ClientAddresses(config.trustedProxies);
  const clientAddress = (req: IncomingMessage) => clientAddresses.of(req);
  const { server, terminateSockets } = createHttpServer({
    clientAddress,
    siteDir: config.siteDir,
    sessions,
    store,
    lessons: current,
    identity,
    origins: () => origins,
    upgradeLimits: config.upgradeLimits,
    slowClients: config.slowClients,
    connectionLimits: config.connectionLimits,
    health: async () => ({
      node: config.nodeId,
      accepting: placement?.accepting ?? true,
      ...(room.listening !== undefined ? { listening: room.listening } : {}),
      sandboxes: backend.size,
      sessions: sessions.size,
      services: await services.health(),
    }),
    workshopApi: createWorkshopApi({ workshop, identity, instructor, origins: () => origins, clientAddress }),
    isInstructor: (req) => instructor.isInstructor(req),
    authoring: config.authoring,
    ...(placement ? { placement } : {}),
    shadow: (ws, target) => void handleShadow(ws, target, sessions, workshop).catch((error) => log.error({ err: error }, 'shadowing failed')),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  origins = new PublicOrigins([...defaultOrigins(config.host, port), ...config.publicOrigins]);
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  await placement?.start(config.nodeUrl ?? `http://${config.host}:${port}`);
  const metricsServer = await serveMetrics(metrics, config.metricsHost, config.metricsPort);
  log.info({ url, lessons: [...lessons.keys()] }, 'opslab is serving');
  // Printed for the instructor at the console; never sent to a page.
  log.info(generated ? `instructors: open ${url}/instructor with the token ${instructorToken} (kept in ${tokenWhere}; OPSLAB_INSTRUCTOR_TOKEN sets your own)` : `instructors: open ${url}/instructor with the token from OPSLAB_INSTRUCTOR_TOKEN`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    sessions,
    backend,
    services,
    store,
    room,
    workshop,
    instructorToken,
    ...(lessonWatch ? { lessonWatch } : {}),
    close: () =>
      (closing ??= (async () => {
        await placement?.stop();
        metricsServer?.close();
        lessonWatch?.close();
        workshop.close();
        terminateSockets();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await sessions.closeAll();
        await backend.destroyAll();
        await services.stop();
        await room.close();
      })()),
  };
}
