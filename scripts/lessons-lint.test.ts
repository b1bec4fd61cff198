/**
 * lessons:lint on a scaffolded lesson broken in twelve ways: each break gives a problem that names
 * the file, the field or line, and the fix — and the unbroken scaffold gives none, so each problem
 * is the break's. The tools the lint runs (bash, shellcheck, apt-cache) are asserted present first:
 * a missing tool must fail this test, not pass it silently.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LessonProblem } from '../lesson-model/catalog.ts';
import { lintLesson } from './lessons-lint.ts';
import { scaffoldLesson } from '../lesson-model/scaffold.ts';

const SLUG = 'lint-me';
const root = mkdtempSync(join(tmpdir(), 'opslab-lint-'));
const pristine = join(root, 'pristine');
let n = 0;

before(() => {
  for (const tool of [['bash', '--version'], ['shellcheck', '--version'], ['apt-cache', '--version']]) {
    const result = spawnSync(tool[0]!, [tool[1]!], { encoding: 'utf8' });
    assert.equal(result.error, undefined, `${tool[0]} must be installed for lessons:lint (npm run setup installs it)`);
  }
  scaffoldLesson(pristine, { slug: SLUG });
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh copy of the scaffold, broken by `breakIt`; returns its problems. */
function lintBroken(breakIt: (dir: string) => void): LessonProblem[] {
  const lessons = join(root, `copy-${n++}`);
  const dir = join(lessons, SLUG);
  cpSync(join(pristine, SLUG), dir, { recursive: true });
  breakIt(dir);
  return lintLesson(dir, SLUG, lessons);
}

function edit(file: string, change: (text: string) => string): void {
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

/** Exactly one problem, in `file`, about `field`, at a line when `line` says so, with a fix matching `fix`. */
function assertOne(problems: LessonProblem[], expected: { file: RegExp; field: RegExp; line?: boolean; reason: RegExp; fix: RegExp }): void {
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 2));
  const [p] = problems as [LessonProblem];
  assert.match(p.file, expected.file);
  assert.match(p.field, expected.field);
  if (expected.line) assert.ok(typeof p.line === 'number' && p.line > 0, `a line number: ${JSON.stringify(p)}`);
  assert.match(p.reason, expected.reason);
  assert.match(p.fix, expected.fix);
}

const INDEX = new RegExp(`lessons?[^/]*/${SLUG}/index\\.mdx$|${SLUG}/index\\.mdx$`);

test('the scaffold as it is has no problem', () => {
  assert.deepEqual(lintBroken(() => {}), []);
});

test('1. a frontmatter field of the wrong type', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'index.mdx'), (t) => t.replace(/^duration: 10$/m, 'duration: ten')));
  assertOne(problems, { file: INDEX, field: /^duration$/, line: true, reason: /Expected number, received string/, fix: /give duration a number/ });
});

test('2. an unknown frontmatter key', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'index.mdx'), (t) => t.replace(/^checkTimeout: 30$/m, 'checkTimeout: 30\ntimeout: 5')));
  assertOne(problems, { file: INDEX, field: /^timeout$/, line: true, reason: /Unrecognized key/, fix: /remove timeout; the fields are title, summary/ });
});

test('3. a step without its check.sh', () => {
  const problems = lintBroken((dir) => rmSync(join(dir, 'steps/write-note/check.sh')));
  assertOne(problems, { file: INDEX, field: /<Step id="write-note">/, line: true, reason: /no check script/, fix: /create .*lint-me\/steps\/write-note\/check\.sh/ });
});

test('4. a solve.sh that is not executable', () => {
  const problems = lintBroken((dir) => chmodSync(join(dir, 'steps/write-note/solve.sh'), 0o644));
  assertOne(problems, { file: /steps\/write-note\/solve\.sh$/, field: /^mode$/, reason: /not executable/, fix: /chmod \+x .*steps\/write-note\/solve\.sh/ });
});

test('5. two steps with the same id', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'index.mdx'), (t) => `${t}\n<Step id="write-note" title="Again">\nMore.\n</Step>\n`));
  assertOne(problems, { file: INDEX, field: /<Step id="write-note">/, line: true, reason: /duplicate step id/, fix: /its own id/ });
});

test('6. a click-to-run block naming a terminal the lesson does not have', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'index.mdx'), (t) => t.replace('```bash run\ncp', '```bash run=node-9\ncp')));
  assertOne(problems, { file: INDEX, field: /run block/, line: true, reason: /"node-9", which this lesson does not have/, fix: /name one of main/ });
});

test('7. a package that is not in the apt cache', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'index.mdx'), (t) => t.replace(/^packages: \[\]$/m, 'packages: [curl, no-such-package-opslab]')));
  assertOne(problems, { file: INDEX, field: /packages: no-such-package-opslab/, line: true, reason: /not a package in the apt cache/, fix: /apt-cache search no-such-package-opslab/ });
});

test('8. a shell syntax error', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'steps/write-note/check.sh'), (t) => t.replace(/^fi$/m, '')));
  assertOne(problems, { file: /steps\/write-note\/check\.sh$/, field: /^bash -n$/, line: true, reason: /syntax error/, fix: /correct the shell syntax/ });
});

test('9. a shellcheck error', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'steps/write-note/check.sh'), (t) => t.replace('if [ ! -f "$note" ]; then', 'if [ ! -f "$note"]; then')));
  assertOne(problems, { file: /steps\/write-note\/check\.sh$/, field: /^shellcheck SC\d+(, SC\d+)* \(error\)$/, line: true, reason: /You need a space before the \]/, fix: /shellcheck\.net\/wiki\/SC\d+/ });
});

test('10. a check that reads the shell history', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'steps/write-note/check.sh'), (t) => t.replace('note=/root/notes/hello.txt', 'grep -q "cp " /root/.bash_history || exit 1\nnote=/root/notes/hello.txt')));
  assertOne(problems, { file: /steps\/write-note\/check\.sh$/, field: /^evidence$/, line: true, reason: /reads the shell history/, fix: /check the state the step leaves/ });
});

test('11. a script that refers to a file the lesson does not have', () => {
  const problems = lintBroken((dir) => edit(join(dir, 'steps/write-note/check.sh'), (t) => t.replace('note=/root/notes/hello.txt', '. /opt/opslab/lesson/lib/common.sh\nnote=/root/notes/hello.txt')));
  assertOne(problems, { file: /steps\/write-note\/check\.sh$/, field: /^file$/, line: true, reason: /lib\/common\.sh, which is not in the lesson/, fix: /create .*lint-me\/lib\/common\.sh/ });
});

test('12. a quiz without a correct answer', () => {
  const quiz = '\n<Quiz id="which-folder" title="Where did the note go?">\n<Option>/tmp</Option>\n<Option>~/notes</Option>\n</Quiz>\n';
  const problems = lintBroken((dir) => edit(join(dir, 'index.mdx'), (t) => t + quiz));
  assertOne(problems, { file: INDEX, field: /<Quiz id="which-folder">/, line: true, reason: /no correct answer/, fix: /<Option correct>/ });
});

test('no false alarms: an empty file a step creates, a last command that only silences stderr, scripts in files/', () => {
  const problems = lintBroken((dir) => {
    edit(join(dir, 'steps/write-note/solve.sh'), (t) => `${t}touch /root/ready\n`);
    edit(join(dir, 'steps/write-note/check.sh'), (t) => t.replace('note=/root/notes/hello.txt', '[ -e /root/ready ] || exit 1\nnote=/root/notes/hello.txt'));
    edit(join(dir, 'index.mdx'), (t) => t.replace('<Step id="write-note" title="Copy the greeting into a note">', '<Step id="write-note" title="Copy the greeting into a note" answer="The greeting">'));
    edit(join(dir, 'steps/write-note/solve.sh'), (t) => `${t}cat /root/notes/hello.txt 2>/dev/null\n`);
    writeFileSync(join(dir, 'files/broken-on-purpose.sh'), 'if then fi\n');
  });
  assert.deepEqual(problems, []);
});

test('the command line prints file:line: field: reason. Fix: … and exits 1', () => {
  const lessons = join(root, 'cli');
  cpSync(join(pristine, SLUG), join(lessons, SLUG), { recursive: true });
  edit(join(lessons, SLUG, 'index.mdx'), (t) => t.replace(/^duration: 10$/m, 'duration: ten'));
  const result = spawnSync('npx', ['tsx', join(import.meta.dirname, 'lessons-lint.ts')], { encoding: 'utf8', env: { ...process.env, OPSLAB_LESSONS_DIR: lessons } });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stdout, /^cli\/lint-me\/index\.mdx:\d+: duration: Expected number, received string\. Fix: give duration a number value$/m);
  assert.match(result.stdout, /lessons:lint: 0 lessons clean, 1 with 1 problem$/m);
});
