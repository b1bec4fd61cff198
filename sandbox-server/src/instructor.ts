/**
 * Instructor access: one token per server (OPSLAB_INSTRUCTOR_TOKEN, or made once and kept next to
 * the database, printed at start-up), exchanged at /instructor for an HttpOnly cookie.
 *
 * The cookie holds `<issued>.<mac>`: when it was issued (seconds) and an HMAC-SHA256 of that and
 * of the token's hash under the server's key. Attendee cookies are signed under a different
 * label, so no attendee cookie is an instructor's; changing the token signs every instructor out;
 * a restart (the key and the token file stay) signs nobody out.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { cookieNamed } from './cookies.ts';

export const INSTRUCTOR_COOKIE = 'opslab_instructor';
/** A workshop day and its evening; then the token again. */
const COOKIE_LIFETIME_S = 24 * 3600;

/** The token from the environment, else the one kept in `path` (made on first use). */
export function loadInstructorToken(path: string, fromEnv = process.env.OPSLAB_INSTRUCTOR_TOKEN): { token: string; generated: boolean } {
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 12) throw new Error('OPSLAB_INSTRUCTOR_TOKEN must be at least 12 characters: it is the only thing between the room and the instructor\'s dashboard');
    return { token: fromEnv, generated: false };
  }
  try {
    return { token: readFileSync(path, 'utf8').trim(), generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true });
  const token = randomBytes(18).toString('base64url');
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { token: readFileSync(path, 'utf8').trim(), generated: true };
    throw error;
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

export class InstructorAccess {
  private readonly tokenHash: Buffer;

  constructor(
    private readonly key: Buffer,
    token: string,
    private readonly secure: boolean,
  ) {
    this.tokenHash = sha256(token);
  }

  private mac(issued: string): string {
    return createHmac('sha256', this.key).update(`instructor:${issued}:`).update(this.tokenHash).digest('base64url').slice(0, 32);
  }

  /** Whether `given` is the token (compared as hashes, in constant time). */
  tokenMatches(given: string): boolean {
    return timingSafeEqual(sha256(given), this.tokenHash);
  }

  /** The Set-Cookie header for a new instructor session. */
  issueCookie(now = Date.now()): string {
    const issued = String(Math.floor(now / 1000));
    return `${INSTRUCTOR_COOKIE}=${issued}.${this.mac(issued)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_LIFETIME_S}${this.secure ? '; Secure' : ''}`;
  }

  clearCookie(): string {
    return `${INSTRUCTOR_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.secure ? '; Secure' : ''}`;
  }

  /** Whether the request carries an instructor cookie this server signed and that has not expired. */
  isInstructor(request: IncomingMessage, now = Date.now()): boolean {
    const [issued, mac, ...rest] = (cookieNamed(request, INSTRUCTOR_COOKIE) ?? '').split('.');
    if (!issued || !mac || rest.length > 0 || !/^\d{1,12}$/.test(issued)) return false;
    const age = now / 1000 - Number(issued);
    if (age < -60 || age > COOKIE_LIFETIME_S) return false;
    const expected = Buffer.from(this.mac(issued));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
