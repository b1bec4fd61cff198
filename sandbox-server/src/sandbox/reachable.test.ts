/**
 * What bwrap binds must be reachable by the sandboxes' uids (bwrap runs as them): a binary left in
 * a checkout under a 0700 folder made every sandbox fail to start on a clean clone under /tmp.
 * The backend refuses such a path at start, naming the folder in the way; the staged copy passes.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stagePlatform } from '../lesson-staging.ts';
import { assertReachableByAnyone } from './bwrap.ts';
import { sandboxInitPath } from './native.ts';

test('a binary under a 0700 folder is refused, naming the folder; its staged copy is reachable', () => {
  const work = mkdtempSync(join(tmpdir(), 'opslab-reachable-'));
  try {
    chmodSync(work, 0o755);
    const home = join(work, 'home');
    mkdirSync(home, { mode: 0o700 });
    chmodSync(home, 0o700);
    const binary = join(home, 'sandbox-init');
    writeFileSync(binary, 'x', { mode: 0o755 });
    assert.throws(() => assertReachableByAnyone(binary), new RegExp(`cannot be reached by the sandboxes' uids: ${home} is mode 700`));
    const staged = stagePlatform(join(work, 'staging'), { 'sandbox-init': sandboxInitPath() });
    assert.doesNotThrow(() => assertReachableByAnyone(join(staged, 'sandbox-init')));
    assert.doesNotThrow(() => assertReachableByAnyone(staged));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
