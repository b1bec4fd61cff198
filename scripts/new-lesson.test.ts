/**
 * `npm run new-lesson` scaffolds a lesson that passes lessons:lint and lessons:test as it is (a real
 * sandbox: this runs as root, like the server), with two terminals when asked; it refuses a bad slug
 * and an existing folder. And a lesson is its folder: a real lesson copied under a new slug into
 * another lessons folder passes lessons:test without a line of platform code changed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadLesson } from '../lesson-model/catalog.ts';
import { lintLesson } from './lessons-lint.ts';
import { scaffoldLesson } from '../lesson-model/scaffold.ts';

const projectRoot = join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'opslab-new-lesson-'));
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));

/** Away from the lessons stage's uids (690000) and the test servers' (OPSLAB_TEST_UID_BASE…). */
const uidBase = String(Number(process.env.OPSLAB_TEST_UID_BASE ?? 700_000) - 5000);

function lessonsTest(lessonsDir: string, ...slugs: string[]) {
  const result = spawnSync('npx', ['tsx', join(projectRoot, 'sandbox-server/src/lessons-test.ts'), ...slugs], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, OPSLAB_LESSONS_DIR: lessonsDir, OPSLAB_LESSONS_TEST_UID_BASE: uidBase, OPSLAB_LOG_LEVEL: 'warn' },
  });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('a scaffolded lesson passes lessons:lint and lessons:test as it is', () => {
  const lessons = join(root, 'scaffolded');
  scaffoldLesson(lessons, { slug: 'dns-basics', terminals: 2, profile: 'network' });
  const lesson = loadLesson(join(lessons, 'dns-basics'), 'dns-basics');
  assert.equal(lesson.title, 'Dns basics');
  assert.equal(lesson.profile, 'network');
  assert.deepEqual(lesson.terminals.map((t) => t.id), ['main', 'terminal-2']);
  assert.deepEqual(lintLesson(join(lessons, 'dns-basics'), 'dns-basics', lessons), []);
  const { status, output } = lessonsTest(lessons);
  assert.equal(status, 0, output);
  assert.match(output, /dns-basics\s+write-note\s+PASS\s+[\d.]+\s+fail → solve → pass \(Your note holds the greeting\.\)/);
  assert.match(output, /lessons:test: 2 passed, 0 failed/);
});

test('new-lesson refuses a bad slug and a folder that exists, and says why', () => {
  const lessons = join(root, 'refused');
  assert.throws(() => scaffoldLesson(lessons, { slug: 'DNS Basics' }), /"DNS Basics" is not a lesson slug: lowercase letters, digits and dashes/);
  scaffoldLesson(lessons, { slug: 'once' });
  assert.throws(() => scaffoldLesson(lessons, { slug: 'once' }), /once exists already/);
  const cli = spawnSync('npx', ['tsx', join(import.meta.dirname, 'new-lesson.ts'), 'once', '--profile', 'huge'], { encoding: 'utf8', env: { ...process.env, OPSLAB_LESSONS_DIR: lessons } });
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /new-lesson: --profile huge: say one of small, cluster, network/);
});

test('a real lesson copied under a new slug into another folder passes lessons:test unchanged', () => {
  const lessons = join(root, 'copied');
  cpSync(join(projectRoot, 'lessons/getting-started'), join(lessons, 'copied-lesson'), { recursive: true });
  const { status, output } = lessonsTest(lessons, 'copied-lesson');
  assert.equal(status, 0, output);
  assert.match(output, /copied-lesson\s+stop-server\s+PASS/);
  assert.match(output, /lessons:test: 5 passed, 0 failed/);
});
