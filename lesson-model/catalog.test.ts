import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LessonError, loadCatalog, loadLesson } from './catalog.ts';

const root = mkdtempSync(join(tmpdir(), 'opslab-catalog-'));
after(() => rmSync(root, { recursive: true, force: true }));

const frontmatter = 'title: T\nsummary: S\nduration: 5\norder: 1';

function lesson(slug: string, mdx: string, steps: string[] = []): string {
  const dir = join(root, slug);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.mdx'), mdx);
  for (const step of steps) {
    mkdirSync(join(dir, 'steps', step), { recursive: true });
    writeFileSync(join(dir, 'steps', step, 'check.sh'), 'exit 0\n');
    writeFileSync(join(dir, 'steps', step, 'solve.sh'), 'exit 0\n');
  }
  return dir;
}

function assertLessonError(fn: () => unknown, file: RegExp, field: string, reason: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LessonError, String(error));
    assert.match(error.file, file);
    assert.equal(error.field, field);
    assert.match(error.message, reason);
    return true;
  });
}

test('a good lesson: frontmatter defaults, steps in document order, answer labels, timeouts', () => {
  const dir = lesson('good', `---\n${frontmatter}\ncheckTimeout: 7\nstepTimeouts:\n  two: 60\n---\n\n# Hi\n\n<Step id="one" title="First">\ntext\n</Step>\n\n<Step id="two" title="Second" answer="The ID">\n</Step>\n`, ['one', 'two']);
  const l = loadLesson(dir, 'good');
  assert.equal(l.profile, 'small');
  assert.deepEqual(l.terminals, [{ id: 'main', title: 'Terminal' }]);
  assert.deepEqual(l.steps.map((s) => [s.id, s.title, s.kind === 'script' ? s.answer : undefined, s.timeout]), [['one', 'First', undefined, 7], ['two', 'Second', 'The ID', 60]]);
});

test('broken frontmatter names the file and the field', () => {
  const missing = lesson('missing-title', '---\nsummary: S\nduration: 5\norder: 1\n---\nx\n');
  assertLessonError(() => loadLesson(missing, 'missing-title'), /missing-title\/index\.mdx$/, 'title', /Required/);
  const badType = lesson('bad-duration', '---\ntitle: T\nsummary: S\nduration: "twenty"\norder: 1\n---\nx\n');
  assertLessonError(() => loadLesson(badType, 'bad-duration'), /bad-duration\/index\.mdx$/, 'duration', /Expected number/);
  const badTerminal = lesson('bad-terminal', `---\n${frontmatter}\nterminals:\n  - id: Node_1\n    title: x\n---\n`);
  assertLessonError(() => loadLesson(badTerminal, 'bad-terminal'), /index\.mdx$/, 'terminals.0.id', /lowercase/);
  const narrow = lesson('narrow', `---\n${frontmatter}\ncolumns: 20\n---\n`);
  assertLessonError(() => loadLesson(narrow, 'narrow'), /index\.mdx$/, 'columns', /greater than or equal to 40/);
  const unknownKey = lesson('unknown-key', `---\n${frontmatter}\ntimeout: 3\n---\n`);
  assertLessonError(() => loadLesson(unknownKey, 'unknown-key'), /index\.mdx$/, 'timeout', /Unrecognized key.*timeout/);
  const yaml = lesson('bad-yaml', '---\ntitle: [unclosed\n---\n');
  assertLessonError(() => loadLesson(yaml, 'bad-yaml'), /index\.mdx$/, 'frontmatter', /not valid YAML/);
});

test('a step without check.sh or solve.sh, a duplicate id or a stray timeout fails with the reason', () => {
  const noCheck = lesson('no-check', `---\n${frontmatter}\n---\n<Step id="s1" title="One">\n</Step>\n`);
  assertLessonError(() => loadLesson(noCheck, 'no-check'), /no-check\/index\.mdx$/, '<Step id="s1">', /steps\/s1\/check\.sh/);
  const dup = lesson('dup', `---\n${frontmatter}\n---\n<Step id="s1" title="One">\n</Step>\n<Step id="s1" title="Again">\n</Step>\n`, ['s1']);
  assertLessonError(() => loadLesson(dup, 'dup'), /index\.mdx$/, '<Step id="s1">', /duplicate/);
  const stray = lesson('stray', `---\n${frontmatter}\nstepTimeouts:\n  nope: 5\n---\n`);
  assertLessonError(() => loadLesson(stray, 'stray'), /index\.mdx$/, 'stepTimeouts.nope', /names no <Step>/);
  const noTitle = lesson('no-title', `---\n${frontmatter}\n---\n\n<Step id="s1">\n</Step>\n`, ['s1']);
  assertLessonError(() => loadLesson(noTitle, 'no-title'), /index\.mdx$/, '<Step id="s1">: title', /required/);
  const badMdx = lesson('bad-mdx', `---\n${frontmatter}\n---\n\n<Step id="s1" title="x">\n`, ['s1']);
  assertLessonError(() => loadLesson(badMdx, 'bad-mdx'), /index\.mdx$/, 'body', /MDX does not parse/);
});

test('the real lessons folder loads', () => {
  const lessons = loadCatalog(join(import.meta.dirname, '../lessons'));
  assert.ok(lessons.some((l) => l.slug === 'getting-started' && l.steps.length >= 3));
});

test('a <Quiz>: options in order, correct ones only where marked bare or "true"', () => {
  const dir = lesson('quiz', `---\n${frontmatter}\n---\n<Quiz id="q" title="Q">\nAsk.\n<Option>a</Option>\n<Option correct>b</Option>\n<Option correct={false}>c</Option>\n<Option correct="false">d</Option>\n<Option correct="true">e</Option>\n</Quiz>\n`);
  const [step] = loadLesson(dir, 'quiz').steps;
  assert.ok(step?.kind === 'quiz');
  assert.deepEqual([step.options, step.correct], [['a', 'b', 'c', 'd', 'e'], [1, 4]]);
});
