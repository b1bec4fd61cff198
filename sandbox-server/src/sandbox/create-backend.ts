import { join } from 'node:path';
/** Builds the bubblewrap backend from the server's settings (used by the server and lessons:test alike). */
import { stagePlatform } from '../lesson-staging.ts';
import { log } from '../log.ts';
import { BwrapBackend, defaultTmpfsBytes } from './bwrap.ts';
import { Cgroups } from './cgroups.ts';
import { sandboxInitPath, spawnerPath } from './native.ts';
import { TurnQueue } from './turn-queue.ts';

export interface BackendSettings {
  uidBase: number;
  uidCount: number;
  stagingDir: string;
  devUnlimited: boolean;
  machineTurns: { slots: number; seconds: number };
}

export function createBwrapBackend(settings: BackendSettings): BwrapBackend {
  const platformDir = stagePlatform(settings.stagingDir, { 'sandbox-init': sandboxInitPath() });
  let cgroups: Cgroups | undefined;
  try {
    cgroups = new Cgroups(String(settings.uidBase));
  } catch (error) {
    if (!settings.devUnlimited) throw error;
    log.warn({ err: error }, 'OPSLAB_DEV_UNLIMITED=1: sandboxes run WITHOUT resource limits');
  }
  return new BwrapBackend({
    uidBase: settings.uidBase,
    uidCount: settings.uidCount,
    platformDir,
    tmpfsBytes: defaultTmpfsBytes,
    spawner: spawnerPath(),
    init: join(platformDir, 'sandbox-init'),
    cgroups,
    turns: {
      queue: new TurnQueue({ slots: settings.machineTurns.slots, maxTurnMs: settings.machineTurns.seconds * 1000 }),
      socketDir: join(settings.stagingDir, 'turns'),
    },
  });
}
