/**
 * The room's OpenStack cloud: brought up once (the local control plane, control-plane.sh beside this
 * file) or reached (an existing cloud, from a config file); watched and repaired while the server
 * runs; per attendee, one project, member user and `openrc`, with the servers the lesson's fixture
 * declares (fixture.ts) booted in it. See docs/openstack.md.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { log } from '../../sandbox-server/src/log.ts';
import type { StageProgress } from '../../sandbox-server/src/sessions.ts';
import { readJsonFile } from '../../sandbox-server/src/shared-services.ts';
import { type CloudCredentials, OpenStackError, OpenStackSession } from './api.ts';
import { emptyFixture, type OpenStackFixture } from './fixture.ts';

/** Service types an attendee's sandbox may reach (docs/openstack.md: the network API is there for the CLIs' lookups). */
export const SANDBOX_SERVICE_TYPES = ['identity', 'compute', 'image', 'placement', 'network'];

/** The instructor's file for an existing cloud (OPSLAB_OPENSTACK_CONFIG): its admin's credentials. */
export const externalCloudSchema = z
  .object({
    authUrl: z.string().url(),
    username: z.string().min(1),
    password: z.string().min(1),
    projectName: z.string().min(1).default('admin'),
    userDomainName: z.string().min(1).default('Default'),
    projectDomainName: z.string().min(1).default('Default'),
    region: z.string().min(1).default('RegionOne'),
  })
  .strict();
export type ExternalCloudConfig = z.infer<typeof externalCloudSchema>;

export interface OpenStackOptions {
  /** An existing cloud (config file path), or undefined for the local control plane. */
  externalConfigPath?: string;
  /** The local control plane's state directory (its admin password is in secrets/admin). */
  stateDir: string;
  /** Seconds between health checks of the local control plane. */
  watchSeconds: number;
  /** The room's key that derives the attendees' passwords (the same on every node); without it, a key per process. */
  key?: Buffer;
}

/** What an attendee's sandbox gets: credentials, and the API endpoints its doors lead to. */
export interface AttendeeCloud {
  projectName: string;
  username: string;
  openrc: string;
  /** Distinct host:port of the endpoints the sandbox may reach, from the cloud's catalog. */
  endpoints: Array<{ host: string; port: number }>;
  /** The fixture's servers in the attendee's project, by name: their ids. */
  servers: Record<string, string>;
}

export function loadExternalCloud(path: string): ExternalCloudConfig {
  // Flavor and image came from this file once; they are the lesson's to declare now.
  return readJsonFile(path, externalCloudSchema, (issue) =>
    issue.code === 'unrecognized_keys' && issue.keys.some((key) => key === 'flavor' || key === 'image')
      ? ' (flavors and images are declared by each lesson now, in its services/openstack.json: see docs/openstack.md)'
      : '',
  );
}

const CONTROL_PLANE = fileURLToPath(new URL('control-plane.sh', import.meta.url));
/** Attendees' projects and users live in Keystone's default domain (id `default`, name `Default`). */
const ATTENDEE_DOMAIN = 'default';
/** An attendee's project and user name: stable per attendee, and naming nothing about them. */
const projectName = (attendee: string) => `opslab-${createHash('sha256').update(attendee).digest('hex').slice(0, 12)}`;
/** The id of the attendee's project or user (both carry the attendee's name), if Keystone has one. */
async function attendeeEntity(admin: OpenStackSession, kind: 'projects' | 'users', name: string): Promise<string | undefined> {
  const found = await admin.call<Record<string, Array<{ id: string }> | undefined>>('identity', 'GET', `/${kind}?name=${name}&domain_id=${ATTENDEE_DOMAIN}`);
  return found[kind]?.[0]?.id;
}

/** Runs control-plane.sh, handing each line it prints to `onLine`; rejects with its last lines on failure. */
function controlPlane(command: string, stateDir: string, onLine: (line: string) => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [CONTROL_PLANE, command], { env: { ...process.env, OPSLAB_OPENSTACK_DIR: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        onLine(line);
      });
    }
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(lines.join('\n')) : reject(new Error(`control-plane.sh ${command} failed (${code}): ${lines.slice(-6).join(' / ')}`))));
  });
}

/** One long operation's progress, heard by everyone waiting for it: the latest stage at once, then each new one. */
class StageRelay {
  private readonly listeners = new Set<StageProgress>();
  private latest: Parameters<StageProgress> | undefined;

  readonly emit: StageProgress = (message, within) => {
    this.latest = [message, within];
    for (const listener of this.listeners) listener(message, within);
  };

  join(listener: StageProgress): void {
    this.listeners.add(listener);
    if (this.latest) listener(...this.latest);
  }
}

export class OpenStackCloud {
  private readying: Promise<void> | undefined;
  private bringingUp: StageRelay | undefined;
  private watch: NodeJS.Timeout | undefined;
  /** The control plane's services as the watch (or a start, or a repair) last found them. */
  private lastLook: { dead: string[]; at: number } | undefined;
  private repairing: Promise<void> | undefined;
  private repairRelay: StageRelay | undefined;
  private startedHere = false;
  private stopping = false;
  private readonly external: ExternalCloudConfig | undefined;
  /** Flavors and images made for a fixture (by its JSON), once per cloud: name → id. */
  private readonly shared = new Map<string, Promise<{ flavors: Map<string, string>; images: Map<string, string> }>>();
  private key: Buffer | undefined;

  constructor(private readonly options: OpenStackOptions) {
    this.external = options.externalConfigPath ? loadExternalCloud(options.externalConfigPath) : undefined;
  }

  get mode(): 'local' | 'external' {
    return this.external ? 'external' : 'local';
  }

  private credentials(): CloudCredentials {
    if (this.external) return this.external;
    const password = readFileSync(join(this.options.stateDir, 'secrets', 'admin'), 'utf8').trim();
    return { authUrl: 'http://127.0.0.1:5000/v3', username: 'admin', password, projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default', region: 'RegionOne' };
  }

  /**
   * Brings the cloud up once; everyone who asks meanwhile waits for the same start and hears its
   * progress (the latest stage at once, then each new one).
   */
  ready(progress: StageProgress = () => {}): Promise<void> {
    if (!this.readying) {
      const relay = new StageRelay();
      this.bringingUp = relay;
      this.readying = this.bringUp(relay.emit)
        .catch((error) => {
          this.readying = undefined; // the next attendee tries again
          throw error;
        })
        .finally(() => {
          if (this.bringingUp === relay) this.bringingUp = undefined;
        });
    }
    this.bringingUp?.join(progress);
    return this.readying;
  }

  private async bringUp(progress: StageProgress): Promise<void> {
    if (!this.external) {
      const { dead, running } = await this.look();
      if (dead.length > 0) {
        progress('Starting the room\'s OpenStack cloud (the first time takes about half a minute)…');
        // Only a control plane that was wholly down is this server's to stop: one that merely had a
        // service die belongs to whoever started it (an instructor, the test runner, another node).
        this.startedHere = running.length === 0;
        await this.startControlPlane(progress);
        if (dead.includes('nova-compute')) await this.rebootLostServers();
      }
      this.watchControlPlane();
    }
    await this.admin(); // the cloud answers, and these credentials are its admin's
    log.info({ mode: this.mode }, 'the OpenStack cloud is ready');
  }

  /** `control-plane.sh start`, its counted lines ("keystone (3 of 20)") told as stages with a share done. */
  private startControlPlane(progress: StageProgress): Promise<string> {
    return controlPlane('start', this.options.stateDir, (line) => {
      const what = /^control-plane: (.+)$/.exec(line)?.[1];
      const count = /\((\d+) of (\d+)/.exec(what ?? '');
      const within = count ? (0.8 * Number(count[1])) / Number(count[2]) : undefined;
      if (what?.startsWith('up in')) progress(`The room's OpenStack cloud is ${what}.`, 0.8);
      else if (what) progress(`Starting the room's OpenStack cloud: ${what}…`, within);
    });
  }

  private admin(): Promise<OpenStackSession> {
    return OpenStackSession.login(this.credentials());
  }

  /** The fixture's flavors and images, found by name or made (once per fixture; a failure is tried again next time). */
  private sharedParts(fixture: OpenStackFixture): Promise<{ flavors: Map<string, string>; images: Map<string, string> }> {
    const key = JSON.stringify([fixture.flavors, fixture.images]);
    let parts = this.shared.get(key);
    if (!parts) {
      parts = this.makeSharedParts(fixture);
      parts.catch(() => this.shared.delete(key));
      this.shared.set(key, parts);
    }
    return parts;
  }

  private async makeSharedParts(fixture: OpenStackFixture): Promise<{ flavors: Map<string, string>; images: Map<string, string> }> {
    const admin = await this.admin();
    const flavors = new Map<string, string>();
    const existingFlavors = (await admin.call<{ flavors: Array<{ id: string; name: string }> }>('compute', 'GET', '/flavors')).flavors;
    for (const wanted of fixture.flavors) {
      let id = existingFlavors.find((f) => f.name === wanted.name)?.id;
      if (!id) {
        // 409: another lesson's fixture made a flavor of that name meanwhile; that one is used.
        const created = await admin.call<{ flavor?: { id: string } }>('compute', 'POST', '/flavors', { flavor: wanted }, [409]);
        id = created?.flavor?.id ?? (await admin.call<{ flavors: Array<{ id: string; name: string }> }>('compute', 'GET', '/flavors')).flavors.find((f) => f.name === wanted.name)?.id;
        if (!id) throw new OpenStackError(`the flavor ${wanted.name} could not be made`);
      }
      flavors.set(wanted.name, id);
    }
    const images = new Map<string, string>();
    for (const wanted of fixture.images) {
      // Public images only: an attendee may upload a private image of the same name, which the
      // admin's listing would include (and the room's servers would then fail to boot from it).
      const found = await admin.call<{ images: Array<{ id: string; status: string }> }>('image', 'GET', `/v2/images?name=${encodeURIComponent(wanted.name)}&visibility=public`);
      let id = found.images.find((i) => i.status === 'active')?.id;
      if (!id) {
        // An empty raw image: the fake virt driver boots anything, and no disk is ever written.
        id = (await admin.call<{ id: string }>('image', 'POST', '/v2/images', { name: wanted.name, disk_format: 'raw', container_format: 'bare', visibility: 'public' })).id;
        await admin.upload('image', `/v2/images/${id}/file`, new Blob([]));
      }
      images.set(wanted.name, id);
    }
    return { flavors, images };
  }

  /**
   * The fake virt driver keeps its VMs in nova-compute's memory: after a restart it knows none of
   * them, while Nova's database still says ACTIVE / Running (its power-state sync only logs
   * "unexpectedly not found"), and `nova shelve` then fails inside nova-compute without a word to
   * the attendee. A hard reboot makes the driver create the VM again (as libvirt's would). So after
   * every start of nova-compute, every ACTIVE server is hard-rebooted: one `reboot` more in its
   * action log, and a server that works.
   */
  async rebootLostServers(): Promise<number> {
    const admin = await this.admin();
    type Server = { id: string; status: string; 'OS-EXT-STS:task_state': string | null };
    const list = async () => (await admin.call<{ servers: Server[] }>('compute', 'GET', '/servers/detail?all_tenants=1')).servers;
    const lost = (await list()).filter((s) => s.status === 'ACTIVE' && s['OS-EXT-STS:task_state'] === null);
    for (const server of lost) await admin.call('compute', 'POST', `/servers/${server.id}/action`, { reboot: { type: 'HARD' } }, [409]);
    const ids = new Set(lost.map((s) => s.id));
    for (let i = 0; i < 120; i++) {
      const busy = (await list()).filter((s) => ids.has(s.id) && s['OS-EXT-STS:task_state'] !== null);
      if (busy.length === 0) break;
      await sleep(500);
    }
    if (lost.length > 0) log.info({ servers: lost.length }, 'servers rebooted after a nova-compute start');
    return lost.length;
  }

  private async deadServices(): Promise<string[]> {
    return (await this.look()).dead;
  }

  /** The control plane's services, stopped and running (`control-plane.sh status`: "glance running"). */
  private async look(): Promise<{ dead: string[]; running: string[] }> {
    const lines = (await controlPlane('status', this.options.stateDir)).split('\n');
    const named = (state: string) => lines.filter((line) => line.endsWith(` ${state}`)).map((line) => line.split(' ')[0]!);
    const dead = named('stopped');
    this.lastLook = { dead, at: Date.now() };
    return { dead, running: named('running') };
  }

  /** Every few seconds, repairs the control plane if a service died (an attendee's start does too, at once). */
  private watchControlPlane(): void {
    if (this.watch) return;
    this.watch = setInterval(() => {
      if (this.repairing || this.stopping) return;
      this.repair().catch((error) => log.error({ err: error }, 'the OpenStack control plane could not be repaired'));
    }, this.options.watchSeconds * 1000);
    this.watch.unref();
  }

  /**
   * Re-runs `start` for services that died (it starts only those), then repairs power states.
   * Whoever waits for it (an attendee whose sandbox starts) hears its stages.
   */
  private repair(progress: StageProgress = () => {}): Promise<void> {
    if (!this.repairing) {
      const relay = new StageRelay();
      this.repairRelay = relay;
      this.repairing = (async () => {
        const dead = await this.deadServices();
        if (dead.length === 0) return;
        log.warn({ dead }, 'OpenStack services died: starting them again');
        relay.emit(`Restarting the room's OpenStack cloud (${dead.join(', ')} stopped)…`);
        await this.startControlPlane(relay.emit);
        const rebooted = dead.includes('nova-compute') ? await this.rebootLostServers() : 0;
        log.info({ restarted: dead, rebooted }, 'OpenStack services are back');
      })().finally(() => {
        this.repairing = undefined;
        this.repairRelay = undefined;
      });
    }
    this.repairRelay?.join(progress);
    return this.repairing;
  }

  /** Up or not, never starting anything: the local control plane's services, or an existing cloud's Keystone. */
  async health(): Promise<{ ok: boolean; detail: string }> {
    if (this.external) {
      try {
        await this.admin();
        return { ok: true, detail: 'the existing cloud answers' };
      } catch (error) {
        // Unauthenticated callers read /api/health: the reason goes to the log, not to them.
        log.warn({ err: error }, 'the existing OpenStack cloud does not answer');
        return { ok: false, detail: 'the existing cloud does not answer (see the server\'s log)' };
      }
    }
    // What the watch saw at its last look (every few seconds): a health probe — every balancer asks each
    // node every second — spawns nothing, and answers at once however busy the machine is.
    // A look older than a minute (the watch stalled, or never ran) is not trusted: a look now.
    const recent = this.lastLook && Date.now() - this.lastLook.at < Math.max(60_000, 2 * this.options.watchSeconds * 1000);
    const dead = recent ? this.lastLook!.dead : await this.deadServices();
    if (dead.length > 0) return { ok: false, detail: `stopped: ${dead.join(', ')}${this.repairing ? ' (being restarted)' : ''}` };
    return { ok: true, detail: 'the local control plane\'s services run' };
  }

  /** Waits for a repair the watch has begun (tests use it after killing a service). */
  async settled(): Promise<void> {
    await this.repairing?.catch(() => undefined);
  }

  /**
   * The attendee's project and member user (created once, with a password derived from the key), the
   * fixture's servers in it (booted if missing), their openrc.
   */
  async provision(attendee: string, fixture: OpenStackFixture = emptyFixture, progress: StageProgress = () => {}): Promise<AttendeeCloud> {
    await this.ready(progress);
    // A service that died since (the watch looks every few seconds) is restarted now, not met as an error.
    if (!this.external && !this.stopping) await this.repair(progress);
    const booting = fixture.servers.map((s) => s.name);
    progress(booting.length > 0 ? `Creating your OpenStack project and booting ${booting.join(', ')}…` : 'Creating your OpenStack project…', 0.85);
    const shared = await this.sharedParts(fixture);
    const adminCredentials = this.credentials();
    const admin = await this.admin();
    const name = projectName(attendee);
    const domain = ATTENDEE_DOMAIN;
    const identity = <T>(method: string, path: string, body?: unknown) => admin.call<T>('identity', method, path, body);

    const projectId =
      (await attendeeEntity(admin, 'projects', name)) ??
      (await identity<{ project: { id: string } }>('POST', '/projects', { project: { name, domain_id: domain, description: 'An Opslab attendee\'s project' } })).project.id;
    const password = this.passwordFor(attendee);
    let userId = await attendeeEntity(admin, 'users', name);
    const existed = userId !== undefined;
    if (!userId) userId = (await identity<{ user: { id: string } }>('POST', '/users', { user: { name, domain_id: domain, password, default_project_id: projectId } })).user.id;
    const roles = await identity<{ roles: Array<{ id: string }> }>('GET', '/roles?name=member');
    const member = roles.roles[0]?.id;
    if (!member) throw new OpenStackError('the cloud has no "member" role');
    await identity('PUT', `/projects/${projectId}/users/${userId}/roles/${member}`);

    const credentials: CloudCredentials = { ...adminCredentials, username: name, password, projectName: name, userDomainName: 'Default', projectDomainName: 'Default' };
    let user: OpenStackSession;
    try {
      user = await OpenStackSession.login(credentials);
    } catch (error) {
      // A user made with another key (the key file was lost): set the password this key gives.
      if (!existed || (error as OpenStackError).status !== 401) throw error;
      await identity('PATCH', `/users/${userId}`, { user: { password } });
      // Keystone revokes the user's tokens issued up to the second of a password change, that second
      // included: a token from the same second is refused by every API (seen: HTTP 401 from Nova).
      await sleep(1100);
      user = await OpenStackSession.login(credentials);
    }
    const servers: Record<string, string> = {};
    for (const server of fixture.servers) servers[server.name] = await this.ensureServer(user, { name: server.name, flavorRef: shared.flavors.get(server.flavor)!, imageRef: shared.images.get(server.image)!, networks: server.networks });

    const endpoints = new Map<string, { host: string; port: number }>();
    for (const entry of admin.catalog.filter((e) => SANDBOX_SERVICE_TYPES.includes(e.type))) {
      const url = new URL(entry.url);
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      endpoints.set(`${url.hostname}:${port}`, { host: url.hostname, port });
    }
    const openrc = [
      `# OpenStack credentials for your project ${name} (a member, not an admin).`,
      '# Load them into this shell with: source openrc',
      `export OS_AUTH_URL=${adminCredentials.authUrl}`,
      `export OS_USERNAME=${name}`,
      `export OS_PASSWORD=${password}`,
      `export OS_PROJECT_NAME=${name}`,
      `export OS_USER_DOMAIN_NAME=${credentials.userDomainName}`,
      `export OS_PROJECT_DOMAIN_NAME=${credentials.projectDomainName}`,
      `export OS_REGION_NAME=${adminCredentials.region}`,
      'export OS_IDENTITY_API_VERSION=3',
      '',
    ].join('\n');
    return { projectName: name, username: name, openrc, endpoints: [...endpoints.values()], servers };
  }

  /** One of the fixture's servers in the attendee's project: booted if missing or in ERROR, waited for while it builds. */
  private async ensureServer(user: OpenStackSession, wanted: { name: string; flavorRef: string; imageRef: string; networks: string }): Promise<string> {
    type Server = { id: string; status: string; 'OS-EXT-STS:task_state': string | null };
    // Nova's name filter is a regular expression: the name's dots are escaped.
    const find = async () => (await user.call<{ servers: Server[] }>('compute', 'GET', `/servers/detail?name=${encodeURIComponent(`^${wanted.name.replace(/[.]/g, '\\.')}$`)}`)).servers;
    let [server] = await find();
    if (server?.status === 'ERROR') {
      await user.call('compute', 'DELETE', `/servers/${server.id}`);
      server = undefined;
    }
    if (!server) {
      const created = await user.call<{ server: { id: string } }>('compute', 'POST', '/servers', { server: wanted });
      server = { id: created.server.id, status: 'BUILD', 'OS-EXT-STS:task_state': 'scheduling' };
    }
    // Whatever state the attendee left it in (shelved, say) is theirs; only a server being built is waited for.
    for (let i = 0; i < 120 && (server.status === 'BUILD' || server['OS-EXT-STS:task_state'] !== null); i++) {
      await sleep(500);
      server = (await user.call<{ server: Server }>('compute', 'GET', `/servers/${server.id}`)).server;
    }
    if (server.status === 'ERROR') throw new OpenStackError(`${wanted.name} went to ERROR while booting (server ${server.id})`);
    return server.id;
  }

  /** Removes an attendee's servers, their shelved snapshots, user and project (tests; an instructor's reset). */
  async deprovision(attendee: string): Promise<void> {
    const admin = await this.admin();
    const name = projectName(attendee);
    const identity = <T>(method: string, path: string) => admin.call<T>('identity', method, path, undefined, [404]);
    const projectId = await attendeeEntity(admin, 'projects', name);
    if (projectId) {
      const { servers } = await admin.call<{ servers: Array<{ id: string }> }>('compute', 'GET', `/servers?all_tenants=1&project_id=${projectId}`);
      for (const server of servers) await admin.call('compute', 'DELETE', `/servers/${server.id}`, undefined, [404]);
      const { images } = await admin.call<{ images: Array<{ id: string }> }>('image', 'GET', `/v2/images?owner=${projectId}`);
      for (const image of images) await admin.call('image', 'DELETE', `/v2/images/${image.id}`, undefined, [404]);
      for (let i = 0; i < 60; i++) {
        const left = await admin.call<{ servers: unknown[] }>('compute', 'GET', `/servers?all_tenants=1&project_id=${projectId}`);
        if (left.servers.length === 0) break;
        await sleep(500);
      }
      await identity('DELETE', `/projects/${projectId}`);
    }
    const userId = await attendeeEntity(admin, 'users', name);
    if (userId) await identity('DELETE', `/users/${userId}`);
  }

  /**
   * An attendee's password: HMAC(key, attendee), the same each time, so that a re-created sandbox
   * needs no password change (which would revoke the attendee's tokens, including ones in use).
   * The key is the room's (room-store.ts): every node derives the same password.
   */
  private passwordFor(attendee: string): string {
    this.key ??= this.options.key ?? randomBytes(32);
    return createHmac('sha256', this.key).update(attendee).digest('base64url').slice(0, 24);
  }

  /** Stops watching; stops the local control plane if this server started it. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watch);
    await this.repairing?.catch(() => undefined);
    if (this.startedHere) await controlPlane('stop', this.options.stateDir).catch((error) => log.error({ err: error }, 'stopping the OpenStack control plane failed'));
  }
}
