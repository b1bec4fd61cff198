/**
 * Reads lesson folders (lessons/<slug>/index.mdx + steps/<id>/{check,solve}.sh) into a typed catalog.
 *
 * Used by the Astro build (to fail it on a broken lesson), by the sandbox server and by the lesson
 * test runner, so all three agree on what a lesson is. Errors name the file, the field and the reason.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import matter from 'gray-matter';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkMdx from 'remark-mdx';
import { idPattern } from '../../protocol/messages.ts';
import { lessonFrontmatterSchema, type LessonFrontmatter } from '../schemas/lesson.ts';

export interface StepSpec {
  id: string;
  title: string;
  /** Label of the answer field, when the step asks the attendee to type what they found. */
  answer?: string;
  checkScript: string;
  solveScript: string;
  /** Seconds before check.sh / solve.sh count as failed. */
  timeout: number;
}

export interface Lesson extends LessonFrontmatter {
  slug: string;
  dir: string;
  file: string;
  steps: StepSpec[];
  /** Absolute path of setup.sh, when the lesson has one. */
  setupScript?: string;
  /** Absolute path of files/ (copied into the sandbox's home before setup.sh), when the lesson has one. */
  filesDir?: string;
}

export class LessonError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}: ${field}: ${reason}`);
    this.name = 'LessonError';
  }
}

interface MdxNode {
  type: string;
  name?: string | null;
  attributes?: Array<{ type: string; name?: string; value?: unknown }>;
  children?: MdxNode[];
  position?: { start: { line: number } };
}

const mdxParser = unified().use(remarkParse).use(remarkMdx);

/** Finds every <Step id="…" title="…" answer="…"> in an MDX body, in document order. */
function findSteps(body: string, file: string, lineOffset: number): Array<{ id: string; title: string; answer?: string; line: number }> {
  let tree: MdxNode;
  try {
    tree = mdxParser.parse(body) as MdxNode;
  } catch (error) {
    throw new LessonError(file, 'body', `MDX does not parse: ${(error as Error).message}`);
  }
  const steps: Array<{ id: string; title: string; answer?: string; line: number }> = [];
  const walk = (node: MdxNode) => {
    if ((node.type === 'mdxJsxFlowElement' || node.type === 'mdxJsxTextElement') && node.name === 'Step') {
      const line = (node.position?.start.line ?? 0) + lineOffset;
      const attr = (name: string): string | undefined => {
        const found = node.attributes?.find((a) => a.type === 'mdxJsxAttribute' && a.name === name);
        if (found === undefined) return undefined;
        if (typeof found.value !== 'string') {
          throw new LessonError(file, `<Step> on line ${line}: ${name}`, 'must be a plain string, not an expression');
        }
        return found.value;
      };
      const id = attr('id');
      const title = attr('title');
      if (!id) throw new LessonError(file, `<Step> on line ${line}: id`, 'is required');
      if (!idPattern.test(id)) throw new LessonError(file, `<Step> on line ${line}: id`, `"${id}" must be lowercase letters, digits and dashes`);
      if (!title) throw new LessonError(file, `<Step id="${id}">: title`, 'is required');
      steps.push({ id, title, answer: attr('answer'), line });
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

export function loadLesson(dir: string, slug: string, root = dir): Lesson {
  const file = join(dir, 'index.mdx');
  const shown = relative(join(root, '..'), file) || file;
  if (!idPattern.test(slug)) throw new LessonError(shown, 'slug', `folder name "${slug}" must be lowercase letters, digits and dashes`);
  const source = readFileSync(file, 'utf8');
  let parsed: matter.GrayMatterFile<string>;
  try {
    parsed = matter(source);
  } catch (error) {
    throw new LessonError(shown, 'frontmatter', `is not valid YAML: ${(error as Error).message}`);
  }
  const result = lessonFrontmatterSchema.safeParse(parsed.data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new LessonError(shown, issue.path.join('.') || 'frontmatter', issue.message);
  }
  const frontmatter = result.data;
  const terminalIds = new Set<string>();
  for (const t of frontmatter.terminals) {
    if (terminalIds.has(t.id)) throw new LessonError(shown, 'terminals', `duplicate terminal id "${t.id}"`);
    terminalIds.add(t.id);
  }
  // Lines of the frontmatter block, so that step line numbers point into the real file.
  const lineOffset = source.slice(0, source.length - parsed.content.length).split('\n').length - 1;
  const found = findSteps(parsed.content, shown, lineOffset);
  const seen = new Set<string>();
  const steps: StepSpec[] = found.map((s) => {
    if (seen.has(s.id)) throw new LessonError(shown, `<Step id="${s.id}">`, 'duplicate step id');
    seen.add(s.id);
    const checkScript = join(dir, 'steps', s.id, 'check.sh');
    const solveScript = join(dir, 'steps', s.id, 'solve.sh');
    if (!isFile(checkScript)) throw new LessonError(shown, `<Step id="${s.id}">`, `has no check script: create steps/${s.id}/check.sh`);
    if (!isFile(solveScript)) throw new LessonError(shown, `<Step id="${s.id}">`, `has no solve script: create steps/${s.id}/solve.sh`);
    return { id: s.id, title: s.title, answer: s.answer, checkScript, solveScript, timeout: frontmatter.stepTimeouts[s.id] ?? frontmatter.checkTimeout };
  });
  for (const stepId of Object.keys(frontmatter.stepTimeouts)) {
    if (!seen.has(stepId)) throw new LessonError(shown, `stepTimeouts.${stepId}`, 'names no <Step> in this lesson');
  }
  const setupScript = join(dir, 'setup.sh');
  const filesDir = join(dir, 'files');
  return { ...frontmatter, slug, dir, file, steps, setupScript: isFile(setupScript) ? setupScript : undefined, filesDir: isDirectory(filesDir) ? filesDir : undefined };
}

/** Loads every lesson under `root` (one folder per lesson), sorted by `order`. Throws on the first broken lesson. */
export function loadCatalog(root: string): Lesson[] {
  const lessons = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && isFile(join(root, entry.name, 'index.mdx')))
    .map((entry) => loadLesson(join(root, entry.name), entry.name, root));
  return lessons.sort((a, b) => a.order - b.order || a.slug.localeCompare(b.slug));
}
