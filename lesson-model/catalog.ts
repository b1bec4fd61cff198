/**
 * Reads lesson folders (lessons/<slug>/index.mdx + steps/<id>/{check,solve}.sh) into a typed catalog.
 *
 * The one parser of a lesson: the site's content loader (src/lessons/loader.ts), the sandbox server,
 * the lesson test runner and the authoring tools (lessons:lint) all read lessons through it, so they
 * agree on what a lesson is. Every problem names the file, the field or line, the reason and the fix.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import matter from 'gray-matter';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkMdx from 'remark-mdx';
import type { ZodIssue } from 'zod';
import { idPattern } from '../protocol/messages.ts';
import { lessonFrontmatterSchema, type LessonFrontmatter, type LessonPage } from './schema.ts';

interface StepBase {
  id: string;
  title: string;
  /** Line of the <Step> or <Quiz> in index.mdx. */
  line: number;
  /** Seconds before check.sh / solve.sh count as failed. */
  timeout: number;
}

/** A step checked by its check.sh in the attendee's sandbox. */
export interface ScriptStep extends StepBase {
  kind: 'script';
  /** Label of the answer field, when the step asks the attendee to type what they found. */
  answer?: string;
  checkScript: string;
  solveScript: string;
}

/** A question checked by the server against the options the author marked `correct`. */
export interface QuizStep extends StepBase {
  kind: 'quiz';
  options: string[];
  /** Indexes into `options`; more than one makes it a multiple-choice question. */
  correct: number[];
}

export type StepSpec = ScriptStep | QuizStep;

export interface Lesson extends LessonFrontmatter {
  slug: string;
  dir: string;
  file: string;
  steps: StepSpec[];
  /** Absolute path of setup.sh, when the lesson has one. */
  setupScript?: string;
  /** Absolute path of files/ (copied into the sandbox's home before setup.sh), when the lesson has one. */
  filesDir?: string;
  /** The MDX after the frontmatter: what the site renders. */
  body: string;
}

/** One thing wrong with a lesson, said so that its author can fix it without asking. */
export interface LessonProblem {
  /** The file, relative to the lessons folder's parent (e.g. lessons/<slug>/index.mdx). */
  file: string;
  line?: number;
  /** The frontmatter field or the element, e.g. `duration` or `<Step id="up">`. */
  field: string;
  reason: string;
  fix: string;
}

export function formatProblem(p: LessonProblem): string {
  return `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.field}: ${p.reason}. Fix: ${p.fix}`;
}

export class LessonError extends Error {
  constructor(readonly problem: LessonProblem) {
    super(formatProblem(problem));
    this.name = 'LessonError';
  }
  get file(): string {
    return this.problem.file;
  }
  get field(): string {
    return this.problem.field;
  }
  get reason(): string {
    return this.problem.reason;
  }
}

export function lessonPage(lesson: Lesson): LessonPage {
  const { dir: _dir, file: _file, setupScript: _setup, filesDir: _files, body: _body, steps, ...rest } = lesson;
  return {
    ...rest,
    steps: steps.map((step) =>
      step.kind === 'quiz'
        ? { id: step.id, title: step.title, quiz: { options: step.options, multiple: step.correct.length > 1 } }
        : step.answer === undefined
          ? { id: step.id, title: step.title }
          : { id: step.id, title: step.title, answer: step.answer },
    ),
  };
}

interface MdxNode {
  type: string;
  name?: string | null;
  value?: string;
  meta?: string | null;
  attributes?: Array<{ type: string; name?: string; value?: unknown }>;
  children?: MdxNode[];
  position?: { start: { line: number } };
}

/** A terminal named in the text: by a <Terminal id> link or a click-to-run block (```bash run=id). */
interface NamedTerminal {
  id: string;
  line: number;
  what: string;
}

interface FoundStep {
  kind: 'script' | 'quiz';
  id: string;
  title: string;
  answer?: string;
  line: number;
  options: Array<{ label: string; correct: boolean }>;
}

const mdxParser = unified().use(remarkParse).use(remarkMdx);

function textOf(node: MdxNode): string {
  return node.value ?? (node.children ?? []).map(textOf).join('');
}

/** Collects problems instead of stopping at the first, so that lessons:lint can list them all. */
class Problems {
  readonly list: LessonProblem[] = [];
  constructor(readonly file: string) {}
  add(field: string, reason: string, fix: string, line?: number, file = this.file): void {
    this.list.push({ file, line, field, reason, fix });
  }
}

function isElement(node: MdxNode, name: string): boolean {
  return (node.type === 'mdxJsxFlowElement' || node.type === 'mdxJsxTextElement') && node.name === name;
}

/** Every <Step> and <Quiz> of an MDX body, in document order. */
function findSteps(body: string, problems: Problems, lineOffset: number, terminalsNamed: NamedTerminal[]): FoundStep[] | undefined {
  let tree: MdxNode;
  try {
    tree = mdxParser.parse(body) as MdxNode;
  } catch (error) {
    const place = (error as { line?: number }).line;
    problems.add('body', `MDX does not parse: ${(error as Error).message}`, 'close every tag (<Step …>…</Step>) and escape a literal < or { as \\< or \\{', place !== undefined ? place + lineOffset : undefined);
    return undefined;
  }
  const steps: FoundStep[] = [];
  const walk = (node: MdxNode) => {
    const kind = isElement(node, 'Step') ? 'script' : isElement(node, 'Quiz') ? 'quiz' : undefined;
    if (kind !== undefined) {
      const tag = kind === 'script' ? 'Step' : 'Quiz';
      const line = (node.position?.start.line ?? 0) + lineOffset;
      const attr = (name: string): string | undefined => {
        const found = node.attributes?.find((a) => a.type === 'mdxJsxAttribute' && a.name === name);
        if (found === undefined) return undefined;
        if (typeof found.value !== 'string') {
          problems.add(`<${tag}>: ${name}`, 'is an expression', `write it as a plain string: ${name}="…"`, line);
          return undefined;
        }
        return found.value;
      };
      const id = attr('id');
      const title = attr('title');
      if (!id) problems.add(`<${tag}>: id`, 'is required', `give it an id of lowercase letters, digits and dashes: <${tag} id="my-step" …>`, line);
      else if (!idPattern.test(id)) problems.add(`<${tag} id="${id}">`, 'the id must be lowercase letters, digits and dashes', `rename it, e.g. id="${id.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}"`, line);
      if (!title) problems.add(`<${tag} id="${id ?? ''}">: title`, 'is required', `add title="…": what the learner does in this step`, line);
      const options: FoundStep['options'] = [];
      if (kind === 'quiz') {
        const collect = (child: MdxNode) => {
          if (isElement(child, 'Option')) {
            // `correct` bare (null) or "true"; correct={false} or correct="false" is not.
            const mark = child.attributes?.find((a) => a.type === 'mdxJsxAttribute' && a.name === 'correct');
            options.push({ label: textOf(child).trim(), correct: mark !== undefined && (mark.value === null || mark.value === undefined || mark.value === 'true') });
          } else child.children?.forEach(collect);
        };
        node.children?.forEach(collect);
      }
      if (id && idPattern.test(id) && title) steps.push({ kind, id, title, answer: attr('answer'), line, options });
    }
    const line = (node.position?.start.line ?? 0) + lineOffset;
    if (isElement(node, 'Terminal')) {
      const id = node.attributes?.find((a) => a.type === 'mdxJsxAttribute' && a.name === 'id')?.value;
      terminalsNamed.push({ id: typeof id === 'string' ? id : '', line, what: '<Terminal>' });
    }
    if (isElement(node, 'Callout')) {
      const type = node.attributes?.find((a) => a.type === 'mdxJsxAttribute' && a.name === 'type')?.value;
      if (type !== undefined && type !== 'note' && type !== 'warning') problems.add('<Callout>: type', `"${String(type)}" is not a callout type`, 'use type="note" or type="warning"', line);
    }
    // ```bash run=node-2: the click-to-run button types the block into that terminal.
    if (node.type === 'code') {
      const run = /(?:^|\s)run=([^\s]+)/.exec(node.meta ?? '');
      if (run) terminalsNamed.push({ id: run[1]!, line, what: 'run block' });
    }
    node.children?.forEach(walk);
  };
  walk(tree);
  return steps;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** The line of a top-level frontmatter key in the file (1-based), for messages. */
function keyLine(source: string, key: string | number | undefined): number | undefined {
  if (key === undefined) return undefined;
  const index = source.split('\n').findIndex((line) => line.startsWith(`${key}:`));
  return index >= 0 ? index + 1 : undefined;
}

const frontmatterFields = Object.keys(lessonFrontmatterSchema.shape);

function frontmatterFix(issue: ZodIssue): string {
  const field = issue.path.join('.');
  switch (issue.code) {
    case 'unrecognized_keys':
      return `remove ${issue.keys.join(', ')}; the fields are ${frontmatterFields.join(', ')} (docs/authoring.md, "Frontmatter")`;
    case 'invalid_type':
      return issue.received === 'undefined' ? `add ${field}: <${issue.expected}>` : `give ${field} a ${issue.expected} value`;
    case 'invalid_enum_value':
      return `use one of ${issue.options.map(String).join(', ')}`;
    default:
      return `change ${field || 'the frontmatter'} as the reason says (docs/authoring.md, "Frontmatter")`;
  }
}

export interface LessonRead {
  lesson?: Lesson;
  problems: LessonProblem[];
}

/**
 * Reads one lesson folder and every problem with it. `root` is the lessons folder (problems name
 * files from its parent, e.g. lessons/<slug>/index.mdx).
 */
export function readLesson(dir: string, slug: string, root = join(dir, '..')): LessonRead {
  const file = join(dir, 'index.mdx');
  const shown = (path: string) => relative(join(root, '..'), path) || path;
  const problems = new Problems(shown(file));
  if (!idPattern.test(slug)) problems.add('slug', `folder name "${slug}" is not lowercase letters, digits and dashes`, `rename the folder, e.g. ${slug.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`);
  const source = readFileSync(file, 'utf8');
  let parsed: matter.GrayMatterFile<string>;
  try {
    // gray-matter caches by content; a lesson edited back and forth must be parsed afresh.
    parsed = matter(source, {});
  } catch (error) {
    const mark = (error as { mark?: { line?: number } }).mark;
    problems.add('frontmatter', `is not valid YAML: ${(error as Error).message.split('\n')[0]}`, 'fix the YAML between the --- lines (quote values that contain a colon)', mark?.line !== undefined ? mark.line + 2 : undefined);
    return { problems: problems.list };
  }
  const result = lessonFrontmatterSchema.safeParse(parsed.data);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.') || 'frontmatter';
      const top = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path[0];
      problems.add(field, issue.message, frontmatterFix(issue), keyLine(source, top));
    }
  }
  const frontmatter = result.success ? result.data : undefined;
  const terminalIds = new Set<string>();
  for (const t of frontmatter?.terminals ?? []) {
    if (terminalIds.has(t.id)) problems.add('terminals', `two terminals have the id "${t.id}"`, 'give each terminal its own id', keyLine(source, 'terminals'));
    terminalIds.add(t.id);
  }
  // Lines of the frontmatter block, so that step line numbers point into the real file.
  const lineOffset = source.slice(0, source.length - parsed.content.length).split('\n').length - 1;
  const terminalsNamed: NamedTerminal[] = [];
  const found = findSteps(parsed.content, problems, lineOffset, terminalsNamed) ?? [];
  if (frontmatter) {
    for (const named of terminalsNamed) {
      if (!terminalIds.has(named.id)) {
        problems.add(named.what, `names the terminal "${named.id}", which this lesson does not have`, `name one of ${[...terminalIds].join(', ')}, or add it under terminals: in the frontmatter`, named.line);
      }
    }
  }
  const seen = new Set<string>();
  const timeoutOf = (id: string) => frontmatter?.stepTimeouts[id] ?? frontmatter?.checkTimeout ?? 30;
  const steps: StepSpec[] = [];
  for (const s of found) {
    const tag = s.kind === 'script' ? `<Step id="${s.id}">` : `<Quiz id="${s.id}">`;
    if (seen.has(s.id)) {
      problems.add(tag, 'duplicate step id: another <Step> or <Quiz> above has it', 'give each step its own id', s.line);
      continue;
    }
    seen.add(s.id);
    if (s.kind === 'quiz') {
      if (s.options.length < 2) problems.add(tag, `has ${s.options.length} <Option>`, 'give it at least two: <Option>…</Option>, and mark the right one(s) <Option correct>', s.line);
      else if (!s.options.some((o) => o.correct)) problems.add(tag, 'has no correct answer', 'mark the right option(s): <Option correct>…</Option>', s.line);
      if (s.options.some((o) => o.label === '')) problems.add(tag, 'has an empty <Option>', 'write the option’s text between <Option> and </Option>', s.line);
      steps.push({ kind: 'quiz', id: s.id, title: s.title, line: s.line, timeout: timeoutOf(s.id), options: s.options.map((o) => o.label), correct: s.options.flatMap((o, i) => (o.correct ? [i] : [])) });
      continue;
    }
    const checkScript = join(dir, 'steps', s.id, 'check.sh');
    const solveScript = join(dir, 'steps', s.id, 'solve.sh');
    if (!isFile(checkScript)) problems.add(tag, 'has no check script', `create ${shown(checkScript)} (exit 0 when the step is done; what it prints is the learner's feedback)`, s.line);
    if (!isFile(solveScript)) problems.add(tag, 'has no solve script', `create ${shown(solveScript)} (does the step, for "Solve it for me" and lessons:test)`, s.line);
    steps.push({ kind: 'script', id: s.id, title: s.title, answer: s.answer, line: s.line, checkScript, solveScript, timeout: timeoutOf(s.id) });
  }
  for (const stepId of Object.keys(frontmatter?.stepTimeouts ?? {})) {
    if (!seen.has(stepId)) problems.add(`stepTimeouts.${stepId}`, 'names no <Step> in this lesson', `remove it, or name one of ${[...seen].join(', ') || '(no steps yet)'}`, keyLine(source, 'stepTimeouts'));
  }
  if (problems.list.length > 0 || frontmatter === undefined) return { problems: problems.list };
  const setupScript = join(dir, 'setup.sh');
  const filesDir = join(dir, 'files');
  const lesson: Lesson = {
    ...frontmatter,
    slug,
    dir,
    file,
    steps,
    body: parsed.content,
    setupScript: isFile(setupScript) ? setupScript : undefined,
    filesDir: isDirectory(filesDir) ? filesDir : undefined,
  };
  return { lesson, problems: [] };
}

/** Reads one lesson folder; throws a LessonError with its first problem. */
export function loadLesson(dir: string, slug: string, root = join(dir, '..')): Lesson {
  const { lesson, problems } = readLesson(dir, slug, root);
  if (!lesson) throw new LessonError(problems[0]!);
  return lesson;
}

/** The lesson folders under `root` (those with an index.mdx), by name. */
export function lessonDirs(root: string): Array<{ slug: string; dir: string }> {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && isFile(join(root, entry.name, 'index.mdx')))
    .map((entry) => ({ slug: entry.name, dir: join(root, entry.name) }))
    .sort((a, b) => a.slug.localeCompare(b.slug));
}

/** Loads every lesson under `root` (one folder per lesson), sorted by `order`. Throws on the first broken lesson. */
export function loadCatalog(root: string): Lesson[] {
  const lessons = lessonDirs(root).map(({ slug, dir }) => loadLesson(dir, slug, root));
  return lessons.sort((a, b) => a.order - b.order || a.slug.localeCompare(b.slug));
}
