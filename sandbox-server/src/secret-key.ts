/**
 * Keys the server keeps next to its database (root-only files): made once, read at every start,
 * so what they sign or derive (attendee identities, attendees' cloud passwords) survives restarts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

const KEY_BYTES = 32;

export function loadOrCreateKey(path: string): Buffer {
  try {
    const key = readFileSync(path);
    if (key.length < KEY_BYTES) throw new Error(`${path} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key: remove it to make a new one (this signs everyone out)`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(KEY_BYTES);
  try {
    writeFileSync(path, key, { mode: 0o600, flag: 'wx' }); // 'wx': two processes starting together keep one key
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path);
    throw error;
  }
}
