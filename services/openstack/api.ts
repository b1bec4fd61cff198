/**
 * The few OpenStack API calls the platform makes itself (Keystone v3, Nova v2.1, Glance v2), over
 * fetch. The platform runs them per attendee at sandbox creation: a Python CLI call costs seconds
 * here, an HTTP request milliseconds. Attendees use the real `nova` and `openstack` CLIs.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** How to reach a cloud as its administrator (the local control plane's, or an existing cloud's). */
export interface CloudCredentials {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  region: string;
}

export interface CatalogEntry {
  type: string;
  url: string;
}

export class OpenStackError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Requests that may be sent again when the connection breaks before an answer: an API server
 * closing a kept-alive socket just as it is reused, or a worker restarting (seen as ECONNRESET from
 * nova-api on a busy machine). keystoneauth's `connect_retries` do the same for the CLIs.
 */
const REPEATABLE = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
/** How a broken connection shows in fetch's error's cause (Node's own codes and undici's); anything else is a mistake that would fail again. */
const BROKEN_CONNECTION = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET']);
const RETRY_DELAYS_MS = [250, 1_000];

/**
 * fetch, sent again after a broken connection when the method is repeatable, all tries within one
 * minute. `retried`: the answer is to a second or third try, whose first may have done its work.
 */
async function fetchRetrying(url: string, init: RequestInit & { method: string }): Promise<{ response: Response; retried: boolean }> {
  const signal = AbortSignal.timeout(60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return { response: await fetch(url, { ...init, signal }), retried: attempt > 0 };
    } catch (error) {
      const code = ((error as Error).cause as { code?: string } | undefined)?.code;
      if (!BROKEN_CONNECTION.has(code ?? '') || !REPEATABLE.has(init.method) || attempt >= RETRY_DELAYS_MS.length) throw error;
      await sleep(RETRY_DELAYS_MS[attempt]);
    }
  }
}

/** Nova microversion 2.37 is the first that accepts `networks: "none"` (a server with no network). */
const NOVA_MICROVERSION = '2.37';

export class OpenStackSession {
  private constructor(
    readonly token: string,
    readonly projectId: string,
    readonly catalog: CatalogEntry[],
  ) {}

  static async login(credentials: CloudCredentials): Promise<OpenStackSession> {
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: credentials.username, domain: { name: credentials.userDomainName }, password: credentials.password } } },
        scope: { project: { name: credentials.projectName, domain: { name: credentials.projectDomainName } } },
      },
    };
    const url = `${credentials.authUrl.replace(/\/$/, '')}/auth/tokens`;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new OpenStackError(`Keystone at ${credentials.authUrl} does not answer: ${(error as Error).message}`);
    }
    if (!response.ok) throw new OpenStackError(`Keystone refused ${credentials.username}@${credentials.projectName}: HTTP ${response.status} ${await response.text()}`, response.status);
    const token = response.headers.get('x-subject-token');
    const json = (await response.json()) as { token: { project: { id: string }; catalog: Array<{ type: string; endpoints: Array<{ interface: string; region: string; url: string }> }> } };
    if (!token) throw new OpenStackError('Keystone answered without a token');
    const catalog = json.token.catalog.flatMap((service) =>
      service.endpoints.filter((e) => e.interface === 'public' && (!e.region || e.region === credentials.region)).map((e) => ({ type: service.type, url: e.url.replace(/\/$/, '') })),
    );
    return new OpenStackSession(token, json.token.project.id, catalog);
  }

  endpoint(type: string): string {
    const entry = this.catalog.find((e) => e.type === type);
    if (!entry) throw new OpenStackError(`the cloud's catalog has no public ${type} endpoint`);
    return entry.url;
  }

  /** One API call; `path` is relative to the service's endpoint. Returns the parsed JSON (or undefined). */
  async call<T = unknown>(type: string, method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<T> {
    const headers: Record<string, string> = { 'x-auth-token': this.token, accept: 'application/json' };
    if (type === 'compute') headers['openstack-api-version'] = `compute ${NOVA_MICROVERSION}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const url = `${this.endpoint(type)}${path}`;
    const { response, retried } = await fetchRetrying(url, { method, headers, body: payload });
    const text = await response.text();
    // A retried DELETE may find its first try's work done.
    const doneBefore = retried && method === 'DELETE' && response.status === 404;
    if (!response.ok && !okStatuses.includes(response.status) && !doneBefore) throw new OpenStackError(`${method} ${url}: HTTP ${response.status} ${text.slice(0, 300)}`, response.status);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Uploads raw bytes (Glance image data). */
  async upload(type: string, path: string, data: Blob): Promise<void> {
    const url = `${this.endpoint(type)}${path}`;
    const { response, retried } = await fetchRetrying(url, { method: 'PUT', headers: { 'x-auth-token': this.token, 'content-type': 'application/octet-stream' }, body: data });
    // Glance refuses a second upload to an image (409): after a retry, the first one took.
    if (!response.ok && !(retried && response.status === 409)) throw new OpenStackError(`PUT ${url}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`, response.status);
  }
}
