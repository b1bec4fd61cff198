/**
 * The room's shared services: one plug-in interface, and the registry that finds the plug-ins.
 *
 * A shared service is something the whole room uses once (the OpenStack cloud; a Kubernetes API or
 * a Ceph cluster would be next) of which each attendee gets a part of their own. It lives in its own
 * folder, `services/<name>/`, whose `service.ts` default-exports a `SharedServiceFactory`; a lesson
 * asks for it by name (`services: [<name>]`) and may declare what its part must hold in
 * `lessons/<slug>/services/<name>.json` (its fixture: the plug-in's schema says what is allowed).
 * The platform names no service: it loads `services/<name>/service.ts` for the lessons that ask.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { idPattern } from '../../protocol/messages.ts';
import type { z } from 'zod';
import type { Lesson } from '../../lesson-model/catalog.ts';
import { log } from './log.ts';
import type { Sandbox, SandboxAttachment } from './sandbox/backend.ts';
import type { StageProgress } from './sessions.ts';

/** What the platform gives a service: its own folders and key, and the options a test or an operator set. */
export interface SharedServiceContext {
  name: string;
  /** Host folder for what the service binds into sandboxes (sockets, credentials); sandboxes' uids must reach it. */
  stagingDir: string;
  /** The service's key of the room: the same on every node and across restarts (room-store.ts). */
  key: Buffer;
  /** The service's own settings (config.serviceOptions[name]); the service validates them and reads its environment. */
  options: Record<string, unknown>;
}

export interface ServiceHealth {
  ok: boolean;
  /** In an operator's words: what is up, what is down. */
  detail: string;
}

/** One attendee's part of a service, as the service describes it to itself (credentials, ids, endpoints). */
export type ServiceGrant = object;

export interface SharedService {
  /** Start the service with the server (an instructor asked for it), before any attendee needs it. */
  readonly warmAtStart: boolean;
  /** Brings the service up for the room if it is not; everyone waiting hears its stages. */
  ready(progress?: StageProgress): Promise<void>;
  /** Whether the service can serve attendees now. Never starts it. */
  health(): Promise<ServiceHealth>;
  /**
   * The attendee's own part, holding what the lesson's fixture declares; the same attendee gets the
   * same part again (a re-created sandbox, a restarted server). Brings the service up if needed.
   */
  provision(attendee: string, fixture: unknown, progress: StageProgress): Promise<ServiceGrant>;
  /** Removes the attendee's part and everything in it (a test's end, an instructor's reset). */
  deprovision(attendee: string): Promise<void>;
  /** A sandbox's way into the attendee's part: host files and sockets, bound in when the sandbox is made. */
  attach(grant: ServiceGrant): SandboxAttachment;
  /** The sandbox is gone: what `attach` opened for it is closed. */
  detach(attachment: SandboxAttachment): Promise<void>;
  /** Reads and checks a lesson's fixture file; throws an error naming the file and the field. */
  readFixture(path: string): unknown;
  /** Stops what the service started (e.g. a local control plane); idempotent. */
  stop(): Promise<void>;
}

export type SharedServiceFactory = (context: SharedServiceContext) => SharedService;

/** The plug-ins' folder: `services/` at the repository's root. */
export const servicesRoot = fileURLToPath(new URL('../../services/', import.meta.url));

/** Names of the services this repository holds (folders with a service.ts). */
export function availableServices(root = servicesRoot): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'service.ts')))
    .map((entry) => entry.name)
    .sort();
}

/** Loads one plug-in's factory; an error says which file and what is wrong with it. */
export async function loadServiceFactory(name: string, root = servicesRoot): Promise<SharedServiceFactory> {
  // Lessons' names are ids already (the schema); the registry is public, so it checks again.
  if (!idPattern.test(name)) throw new Error(`"${name}" is not a shared service's name: lowercase letters, digits and dashes`);
  const file = join(root, name, 'service.ts');
  if (!existsSync(file)) throw new Error(`no shared service "${name}": ${file} does not exist (services here: ${availableServices(root).join(', ') || 'none'})`);
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  if (typeof module.default !== 'function') throw new Error(`${file}: its default export must be a SharedServiceFactory (a function of the service's context)`);
  return module.default as SharedServiceFactory;
}

/**
 * A service's JSON file (a lesson's fixture, an operator's settings) read against its schema: an
 * error names the file and the first wrong field; `hint` may add what to do about that field.
 */
export function readJsonFile<T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, hint: (issue: z.ZodIssue) => string = () => ''): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not a readable JSON file (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new Error(`${path}: field "${issue.path.join('.') || '(top level)'}": ${issue.message}${hint(issue)}`);
}

/** A lesson's fixture for a service: `lessons/<slug>/services/<name>.json`, if the lesson has one. */
export function fixturePath(lesson: Pick<Lesson, 'dir'>, service: string): string {
  return join(lesson.dir, 'services', `${service}.json`);
}

const HEALTH_CACHE_MS = 5000;
/** A service that has not answered its health check by then is reported as not answering. */
const HEALTH_TIMEOUT_MS = 2000;

/** The service's health, or "no answer" after HEALTH_TIMEOUT_MS: /api/health never hangs on a service. */
function healthWithin(service: SharedService): Promise<ServiceHealth> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ServiceHealth>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer in ${HEALTH_TIMEOUT_MS / 1000} s` }), HEALTH_TIMEOUT_MS);
  });
  const answer = service.health().catch((error: Error) => ({ ok: false, detail: error.message }));
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

export interface RoomServicesOptions {
  stagingDir: string;
  /** The room's keys, by name (room-store.ts): a service's key is the same on every node. */
  key(name: string): Promise<Buffer>;
  serviceOptions?: Record<string, Record<string, unknown>>;
  root?: string;
}

/**
 * The room's services, loaded on first need and kept for the server's life. What the session core
 * sees (`SharedServices` in sessions.ts): attach a lesson's services for an attendee, give them back.
 */
export class RoomServices {
  private readonly loaded = new Map<string, Promise<SharedService>>();
  private readonly started = new Map<string, SharedService>();
  private lastHealth: { at: number; asking: Promise<Record<string, ServiceHealth>> } | undefined;

  constructor(private readonly options: RoomServicesOptions) {}

  /** The named service (loaded and created once). */
  get(name: string): Promise<SharedService> {
    let service = this.loaded.get(name);
    if (!service) {
      service = loadServiceFactory(name, this.options.root).then(async (factory) => {
        const key = await this.options.key(`${name}-attendees`);
        // Sandboxes' uids go through these folders to what a service binds in, whatever the umask.
        const stagingDir = join(this.options.stagingDir, 'services', name);
        for (const dir of [join(this.options.stagingDir, 'services'), stagingDir]) {
          mkdirSync(dir, { recursive: true });
          chmodSync(dir, 0o711);
        }
        const created = factory({
          name,
          stagingDir,
          key,
          options: this.options.serviceOptions?.[name] ?? {},
        });
        this.started.set(name, created);
        return created;
      });
      // A failed load is not kept: the next attendee tries again (an operator may have fixed it).
      service.catch(() => this.loaded.delete(name));
      this.loaded.set(name, service);
    }
    return service;
  }

  /**
   * Loads every service the lessons use (a broken plug-in or configuration stops the server at
   * start, naming the file and field) and brings up those configured to start with the server.
   */
  async prepare(lessons: Iterable<Pick<Lesson, 'services'>>): Promise<void> {
    const names = new Set([...lessons].flatMap((lesson) => lesson.services));
    for (const name of names) {
      const service = await this.get(name);
      if (service.warmAtStart) this.warm(name);
    }
  }

  /** Brings a service up in the background (an event's warm window opens, or the server starts). */
  warm(name: string): void {
    void this.get(name)
      .then((service) => service.ready((message) => log.info({ service: name }, message)))
      .catch((error) => log.error({ err: error, service: name }, 'a shared service did not come up'));
  }

  /** Each of the lesson's services provisions the attendee's part (with the lesson's fixture) and attaches it. */
  async attach(lesson: Pick<Lesson, 'dir' | 'services'>, attendee: string, progress: StageProgress): Promise<SandboxAttachment[]> {
    const attachments: SandboxAttachment[] = [];
    for (const name of lesson.services) {
      const service = await this.get(name);
      const path = fixturePath(lesson, name);
      const fixture = existsSync(path) ? service.readFixture(path) : undefined;
      const grant = await service.provision(attendee, fixture, progress);
      const attachment = service.attach(grant);
      // The backend closes a sandbox's attachments when it goes: for a service, that is its detach.
      attachments.push({
        open: (uid) => attachment.open(uid),
        ...(attachment.start ? { start: (sandbox: Sandbox) => attachment.start!(sandbox) } : {}),
        close: () => service.detach(attachment),
      });
    }
    return attachments;
  }

  /** Gives back the attendee's parts of the lesson's services. */
  async deprovision(lesson: Pick<Lesson, 'services'>, attendee: string): Promise<void> {
    for (const name of lesson.services) await (await this.get(name)).deprovision(attendee);
  }

  /**
   * The health of every service loaded so far (for /api/health); never starts one. Asked at most
   * every few seconds: a load balancer polling /api/health must not make each node spawn checks.
   */
  health(): Promise<Record<string, ServiceHealth>> {
    if (!this.lastHealth || Date.now() - this.lastHealth.at > HEALTH_CACHE_MS) {
      const asking = Promise.all(
        [...this.started].map(async ([name, service]) => [name, await healthWithin(service)] as const),
      ).then((entries) => Object.fromEntries(entries));
      this.lastHealth = { at: Date.now(), asking };
    }
    return this.lastHealth.asking;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.started.values()].map((service) => service.stop().catch((error) => log.error({ err: error }, 'stopping a shared service failed'))));
  }
}
