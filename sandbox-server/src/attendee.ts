/** The anonymous attendee id: 128 random bits in an HttpOnly cookie; the only identity the server trusts. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const COOKIE_NAME = 'opslab_attendee';
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const ONE_YEAR = 365 * 24 * 3600;

export function attendeeFromRequest(request: IncomingMessage): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE_NAME) {
      const value = rest.join('=');
      return ID_PATTERN.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Returns the request's attendee id, issuing a new cookie when there is none (or a forged-looking one). */
export function ensureAttendee(request: IncomingMessage, response: ServerResponse): string {
  const existing = attendeeFromRequest(request);
  if (existing) return existing;
  const id = randomBytes(16).toString('base64url');
  response.setHeader('Set-Cookie', `${COOKIE_NAME}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${ONE_YEAR}`);
  return id;
}
