/**
 * `npm run lessons:lint [slug…] [--json <file>]`: everything that can be known about a lesson
 * without starting it, each problem with its file, its line where there is one, and the fix.
 *
 * The lesson model's own rules first (lesson-model/catalog.ts: the frontmatter schema, every <Step>
 * with its check.sh and solve.sh, unique ids, quizzes with a correct option, terminals that exist),
 * then what only an author's tool checks: executable scripts, `bash -n` and Debian's shellcheck on
 * every script, packages that exist in the apt cache, files the lesson refers to, answer steps whose
 * solve.sh prints the answer, and checks that read the shell history or a marker solve.sh writes —
 * evidence that proves nothing about the state the step asks for.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblem, lessonDirs, readLesson, type LessonProblem } from '../lesson-model/catalog.ts';
import { availableServices, fixturePath, loadServiceFactory, servicesRoot } from '../sandbox-server/src/shared-services.ts';

/** Where the lesson's folder is mounted in its sandbox (sandbox-server/src/checker.ts). */
const IN_SANDBOX = '/opt/opslab/lesson/';

/**
 * shellcheck's checks that cannot be right about lesson scripts: SC1091, a sourced file it cannot
 * follow (lib/ is sourced by its in-sandbox path); SC2154 and SC2034, variables set in a sourced lib
 * or by eval and used elsewhere. Authors silence others case by case (`# shellcheck disable=…`).
 */
const SHELLCHECK_EXCLUDED = 'SC1091,SC2154,SC2034';

export interface LintOptions {
  /** Checks the packages against the apt cache (`apt-cache policy`); off where apt is not the machine's. */
  aptCache?: boolean;
}

function walk(dir: string, skip: (path: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (skip(path)) return [];
    return entry.isDirectory() ? walk(path, skip) : entry.isFile() ? [path] : [];
  });
}

/** The lesson's shell scripts: every *.sh, and files under bin/ whose #! names a shell. */
function shellScripts(dir: string): string[] {
  // files/ is the learner's material (a broken script there may be the lesson's point): not linted.
  const skip = (path: string) => ['test', 'e2e', 'node_modules', 'native', 'files'].includes(relative(dir, path).split('/')[0]!) && statSync(path).isDirectory();
  return walk(dir, skip)
    .filter((path) => path.endsWith('.sh') || (relative(dir, path).startsWith('bin/') && /^#!.*\b(ba)?sh\b/.test(readFileSync(path, 'utf8').slice(0, 100))))
    .sort();
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** The script's commands, without comments and blank lines. */
function commandLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

/** The line number of a script's last command, if it has one. */
function lastCommandLine(text: string): number | undefined {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '' && !lines[i]!.trim().startsWith('#')) return i + 1;
  return undefined;
}

/**
 * Markers a script leaves: files it touches or writes whose name says "done" (done, solved, passed,
 * complete, marker, flag, .ok). A file the step itself asks for (say, ~/hello.txt, or an empty
 * ~/ready a step creates) is the state to check, not a marker.
 */
function markersWritten(text: string): string[] {
  const paths = new Set<string>();
  for (const line of commandLines(text)) {
    for (const match of line.matchAll(/(?:\btouch\s+|\btee\s+(?:-a\s+)?|>>?\s*)(["']?)([~/$][\w./~{}$-]+)\1/g)) {
      if (/(done|solved|passed|complete|marker|flag)|\.ok$/i.test(match[2]!.split('/').pop()!)) paths.add(match[2]!);
    }
  }
  return [...paths].filter((path) => !path.startsWith('/dev/'));
}

/** A path under a folder with a Makefile is what `make` builds there at setup (lessons/<slug>/native/build/…). */
function builtAtSetup(dir: string, target: string): boolean {
  const parts = target.split('/').filter(Boolean);
  for (let n = parts.length - 1; n >= 0; n--) {
    const folder = join(dir, ...parts.slice(0, n));
    if (existsSync(folder)) return existsSync(join(folder, 'Makefile'));
  }
  return false;
}

export function lintLesson(dir: string, slug: string, root: string, options: LintOptions = {}): LessonProblem[] {
  const { lesson, problems } = readLesson(dir, slug, root);
  const shown = (path: string) => relative(join(root, '..'), path);
  const add = (file: string, field: string, reason: string, fix: string, line?: number) => problems.push({ file: shown(file), line, field, reason, fix });
  const scripts = shellScripts(dir);

  for (const script of scripts) {
    const text = readFileSync(script, 'utf8');
    const mode = statSync(script).mode;
    const inLib = relative(dir, script).startsWith('lib/');
    // lib/ is sourced, not run: it needs no execute bit.
    if (!inLib && (mode & 0o111) === 0) add(script, 'mode', 'is not executable', `chmod +x ${shown(script)}`);
    const syntax = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
    if (syntax.error) throw new Error(`lessons:lint needs bash: ${syntax.error.message}`);
    for (const line of syntax.stderr.split('\n').filter(Boolean)) {
      const at = /line (\d+): (.*)$/.exec(line);
      add(script, 'bash -n', at ? at[2]! : line, 'correct the shell syntax on that line (an unclosed quote or if/fi, do/done, a missing ;)', at ? Number(at[1]) : undefined);
    }
    if (syntax.status !== 0) continue; // shellcheck would repeat the same error
    const check = spawnSync('shellcheck', ['-s', 'bash', '-S', 'warning', '-e', SHELLCHECK_EXCLUDED, '-f', 'json1', script], { encoding: 'utf8' });
    if (check.error) throw new Error(`lessons:lint needs shellcheck (apt-get install shellcheck; npm run setup installs it): ${check.error.message}`);
    const comments = (JSON.parse(check.stdout || '{"comments":[]}') as { comments: Array<{ line: number; code: number; level: string; message: string }> }).comments;
    // One problem per line: a parse error comes as several comments on one line, some of them only
    // pointers to the others (SC1009, SC1072, SC1073), which are left out.
    const byLine = new Map<number, typeof comments>();
    for (const c of comments.filter((c) => ![1009, 1072, 1073].includes(c.code))) byLine.set(c.line, [...(byLine.get(c.line) ?? []), c]);
    for (const [line, found] of byLine) {
      const codes = found.map((c) => `SC${c.code}`);
      const level = found.some((c) => c.level === 'error') ? 'error' : 'warning';
      add(script, `shellcheck ${codes.join(', ')} (${level})`, found.map((c) => c.message.replace(/\.$/, '')).join('; '), `see https://www.shellcheck.net/wiki/${codes[0]}; if the script is right, say why above the line: # shellcheck disable=${codes[0]}`, line);
    }
    // Files the lesson names by their in-sandbox path must be in its folder.
    for (const match of text.matchAll(/\/opt\/opslab\/lesson\/([\w./-]+)/g)) {
      const target = match[1]!.replace(/[.]+$/, '');
      if (!existsSync(join(dir, target)) && !builtAtSetup(dir, target)) add(script, 'file', `refers to ${IN_SANDBOX}${target}, which is not in the lesson (${shown(join(dir, target))})`, `create ${shown(join(dir, target))}, or correct the path`, lineOf(text, match.index));
    }
  }

  const mdx = join(dir, 'index.mdx');
  const source = readFileSync(mdx, 'utf8');
  for (const match of source.matchAll(/\]\((\.{0,2}\/?[\w./-]+)\)|\/opt\/opslab\/lesson\/([\w./-]+)/g)) {
    const target = match[1] ?? match[2]!;
    if (match[1] !== undefined && (/^\w+:/.test(target) || target.startsWith('/') || target.startsWith('#'))) continue;
    const path = join(dir, target.replace(/[.]+$/, ''));
    if (!existsSync(path)) add(mdx, 'file', `refers to ${target}, which is not in the lesson`, `create ${shown(path)}, or correct the link`, lineOf(source, match.index));
  }

  if (options.aptCache !== false && lesson && lesson.packages.length > 0) {
    const policy = spawnSync('apt-cache', ['policy', ...lesson.packages], { encoding: 'utf8' });
    if (policy.error) throw new Error(`lessons:lint checks packages with apt-cache (Debian's apt): ${policy.error.message}`);
    const known = new Map<string, string>();
    for (const block of policy.stdout.split(/\n(?=\S)/)) {
      const name = /^(\S+):/.exec(block)?.[1];
      if (name) known.set(name, /Candidate: (\S+)/.exec(block)?.[1] ?? '(none)');
    }
    const line = source.split('\n').findIndex((l) => l.startsWith('packages:')) + 1 || undefined;
    for (const name of lesson.packages) {
      const candidate = known.get(name);
      if (candidate === undefined) add(mdx, `packages: ${name}`, 'is not a package in the apt cache', `look its name up with apt-cache search ${name} (Debian 12's names); run apt-get update if the cache is empty`, line);
      else if (candidate === '(none)') add(mdx, `packages: ${name}`, 'has no installable version (a virtual package?)', `name the real package: apt-cache showpkg ${name} lists what provides it`, line);
    }
  }

  for (const step of lesson?.steps ?? []) {
    if (step.kind !== 'script') continue;
    const check = readFileSync(step.checkScript, 'utf8');
    const solve = readFileSync(step.solveScript, 'utf8');
    // The history file anywhere; `history` or `fc -l` where a command starts (not in a message's words).
    const history = /\.bash_history|\bHISTFILE\b|(?:^|[;|&(]\s*|\$\(\s*|\b(?:if|then|do|elif|while|until|!)\s+)(?:history\b|fc\s+-l)/m.exec(commandLines(check).join('\n'));
    if (history) {
      add(step.checkScript, 'evidence', `reads the shell history (${history[0].trim()}): a learner who typed the command passes even when it failed, one who did the step another way fails`, 'check the state the step leaves behind (a file, a process, a port, a server’s answer), as lessons:test proves it from solve.sh', lineOf(check, check.indexOf(history[0].trim())));
    }
    for (const marker of markersWritten(solve)) {
      const at = check.indexOf(marker);
      if (at >= 0) {
        add(step.checkScript, 'evidence', `reads ${marker}, which solve.sh writes: the check would pass on solve.sh's marker, not on the state the step asks for`, `check the real state instead, and let solve.sh reach it the way a learner would`, lineOf(check, at));
      }
    }
    if (step.answer !== undefined) {
      const last = commandLines(solve).at(-1) ?? '';
      // Its standard output sent elsewhere at the end (> file, >&2, &> /dev/null); 2> leaves it be.
      if (last === '' || /^(exit|true|:)\b/.test(last) || /(?<![0-9])>\s*(?:&2|[\w/~$"'.-]+)\s*$|\b1>\s*\S+\s*$/.test(last)) {
        add(step.solveScript, 'answer', `the step asks for "${step.answer}", but solve.sh's last command prints nothing to its output`, 'end solve.sh with the command that prints the answer (its last line of output is typed into the answer field)', lastCommandLine(solve));
      }
    }
  }
  return problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
}

/**
 * The lesson's shared services: each one it names is a plug-in in the services folder, and each
 * fixture in its services/ folder is one a named service reads without complaint.
 */
export async function lintServices(dir: string, slug: string, root: string, services = servicesRoot): Promise<LessonProblem[]> {
  const { lesson } = readLesson(dir, slug, root);
  if (!lesson) return []; // its frontmatter's problems are lintLesson's
  const shown = (path: string) => relative(join(root, '..'), path);
  const mdx = join(dir, 'index.mdx');
  const line = readFileSync(mdx, 'utf8').split('\n').findIndex((l) => l.startsWith('services:')) + 1 || undefined;
  const problems: LessonProblem[] = [];
  const available = availableServices(services);
  for (const name of lesson.services) {
    if (!available.includes(name)) {
      problems.push({ file: shown(mdx), line, field: `services: ${name}`, reason: `is not a shared service here (no ${join(relative(join(root, '..'), services), name, 'service.ts')})`, fix: `name one of: ${available.join(', ') || '(none)'}; or add the service as a folder of its own (docs/authoring.md, "Shared services")` });
      continue;
    }
    const fixture = fixturePath(lesson, name);
    if (!existsSync(fixture)) continue;
    try {
      // Made only to read the fixture; a plug-in that fails to load or to start is reported too.
      const service = (await loadServiceFactory(name, services))({ name, stagingDir: '/nonexistent', key: Buffer.alloc(32), options: {} });
      service.readFixture(fixture);
    } catch (error) {
      problems.push({ file: shown(fixture), field: 'fixture', reason: (error as Error).message.replace(`${fixture}: `, ''), fix: `correct it as services/${name}'s fixture schema says (docs/authoring.md, "Shared services")` });
    }
  }
  const fixtures = existsSync(join(dir, 'services')) ? readdirSync(join(dir, 'services')).filter((f) => f.endsWith('.json')) : [];
  for (const file of fixtures) {
    const name = file.replace(/\.json$/, '');
    if (!lesson.services.includes(name)) problems.push({ file: shown(join(dir, 'services', file)), field: 'fixture', reason: `is a fixture for "${name}", which the lesson's services: does not name`, fix: `add ${name} to services: in index.mdx, or remove the file` });
  }
  return problems;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: npm run lessons:lint -- [lesson…] [--json <file>]   (OPSLAB_LESSONS_DIR: another lessons folder; OPSLAB_SERVICES_DIR: another services folder)');
    return 0;
  }
  const root = process.env.OPSLAB_LESSONS_DIR ?? join(import.meta.dirname, '..', 'lessons');
  const all = lessonDirs(root);
  const unknown = positionals.filter((slug) => !all.some((l) => l.slug === slug));
  if (unknown.length > 0) {
    console.error(`lessons:lint: unknown lesson(s) ${unknown.join(', ')}; the lessons are ${all.map((l) => l.slug).join(', ')}`);
    return 2;
  }
  const lessons = positionals.length > 0 ? all.filter((l) => positionals.includes(l.slug)) : all;
  const services = process.env.OPSLAB_SERVICES_DIR ?? servicesRoot;
  const results = await Promise.all(lessons.map(async ({ slug, dir }) => ({ lesson: slug, problems: [...lintLesson(dir, slug, root), ...(await lintServices(dir, slug, root, services))] })));
  for (const { problems } of results) for (const problem of problems) console.log(formatProblem(problem));
  const count = results.reduce((n, r) => n + r.problems.length, 0);
  const failed = results.filter((r) => r.problems.length > 0).length;
  console.log(`lessons:lint: ${lessons.length - failed} lessons clean, ${failed} with ${count} problem${count === 1 ? '' : 's'}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] === import.meta.filename) process.exitCode = await main();
