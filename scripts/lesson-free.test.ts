/**
 * A lesson is its folder: the platform's code names no lesson and none of a lesson's fixtures.
 * Every lesson's slug, and every name its shared-service fixtures declare (flavors, images,
 * servers…), is looked for, as a whole word and in any case, in the platform's parts — outside their
 * tests, which use real lessons as fixtures of their own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lessonDirs } from '../lesson-model/catalog.ts';

const root = join(import.meta.dirname, '..');
const PLATFORM = ['sandbox-server', 'src', 'scripts', 'lesson-model', 'protocol', 'services'];

/** Every `name` in a fixture, however deep. */
function namesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(namesIn);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, inner]) => (key === 'name' && typeof inner === 'string' ? [inner] : namesIn(inner)));
  return [];
}

test('no lesson slug and no lesson fixture in the platform\'s code', () => {
  const words = new Set<string>();
  for (const { slug, dir } of lessonDirs(join(root, 'lessons'))) {
    words.add(slug);
    const fixtures = join(dir, 'services');
    for (const file of existsSync(fixtures) ? readdirSync(fixtures).filter((f) => f.endsWith('.json')) : []) {
      for (const name of namesIn(JSON.parse(readFileSync(join(fixtures, file), 'utf8')))) words.add(name);
    }
  }
  // What the search must find to mean anything: the five lessons and the cloud lesson's fixture.
  for (const word of ['getting-started', 'galera', 'test1', 'cirros', 'm1.tiny']) assert.ok(words.has(word), `${word} is among the words looked for`);
  const grep = spawnSync('grep', ['-rniwF', '--exclude=*.test.ts', '--exclude-dir=test', '--exclude-dir=node_modules', ...[...words].flatMap((w) => ['-e', w]), ...PLATFORM], { cwd: root, encoding: 'utf8' });
  assert.ok(!grep.error, `grep runs: ${grep.error?.message}`);
  assert.equal(grep.status, 1, `grep exits 1 (nothing found), not 2 (an error: ${grep.stderr}); found:\n${grep.stdout}`);
});
