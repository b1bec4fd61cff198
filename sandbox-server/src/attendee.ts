/**
 * Attendee identities: the server issues them and signs them; nothing else is an attendee.
 *
 * The cookie holds `<id>.<mac>`: 128 random bits and an HMAC-SHA256 of them under a key kept next to
 * the database (secret-key.ts). A cookie the server did not sign is a stranger's: it gets a new
 * identity on a page load and a 401 on the WebSocket, so a client cannot make up attendees.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cookieNamed } from './cookies.ts';

export const COOKIE_NAME = 'opslab_attendee';
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const ONE_YEAR = 365 * 24 * 3600;

const cookieValue = (request: IncomingMessage) => cookieNamed(request, COOKIE_NAME);

export interface IdentityOptions {
  key: Buffer;
  /** Set the cookie's Secure attribute (every public origin is https). */
  secure: boolean;
  /**
   * Ids issued before identities were signed (a bare 22-character cookie) that already have
   * progress: 128 random bits nobody can guess, so such an id was issued by us. It is signed
   * and kept, so an upgrade mid-workshop loses no one's progress.
   */
  isKnownUnsigned?: (id: string) => Promise<boolean>;
}

export class AttendeeIdentity {
  constructor(private readonly options: IdentityOptions) {}

  private mac(id: string): string {
    return createHmac('sha256', this.options.key).update(`attendee:${id}`).digest('base64url').slice(0, 22);
  }

  /** The attendee this request comes from, or undefined for a stranger (no cookie, or one we did not sign). */
  fromRequest(request: IncomingMessage): string | undefined {
    const [id, mac, ...rest] = (cookieValue(request) ?? '').split('.');
    if (!id || !mac || rest.length > 0 || !ID_PATTERN.test(id)) return undefined;
    const expected = Buffer.from(this.mac(id));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
  }

  /**
   * Returns the request's attendee, issuing a new identity (a Set-Cookie) to a stranger. Only a
   * stranger's request waits for the store (a legacy cookie's check).
   */
  async ensure(request: IncomingMessage, response: ServerResponse): Promise<string> {
    const known = this.fromRequest(request);
    if (known) return known;
    const legacy = cookieValue(request);
    const id = legacy && ID_PATTERN.test(legacy) && (await this.options.isKnownUnsigned?.(legacy)) ? legacy : randomBytes(16).toString('base64url');
    response.setHeader('Set-Cookie', `${COOKIE_NAME}=${id}.${this.mac(id)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${ONE_YEAR}${this.options.secure ? '; Secure' : ''}`);
    return id;
  }
}
