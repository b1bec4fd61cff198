/** A unix socket the server listens on for one sandbox: only that sandbox's uid may connect. */
import { chmodSync, chownSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';

/** Listens on `path` (replacing a stale socket file), then makes it the uid's own, mode 0600. */
export async function listenForUid(server: Server, path: string, uid: number): Promise<void> {
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chownSync(path, uid, uid);
  chmodSync(path, 0o600);
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
