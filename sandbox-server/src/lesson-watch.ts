/**
 * `npm run dev`: an author's edit to a lesson reaches the running server. On a change under a
 * lesson's folder, the lesson is read again through the lesson model; if it is sound, its staged
 * copy is brought up to date in place and the server's view of it replaced, so the next Check runs
 * the edited check.sh — in sandboxes already running, without a restart. If it is not, the problems
 * are logged (file, line, fix) and the last good lesson is kept.
 */
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { formatProblem, readLesson, type Lesson, type LessonProblem } from '../../lesson-model/catalog.ts';
import { restageLesson } from './lesson-staging.ts';
import { log } from './log.ts';
import type { StagedLesson } from './sessions.ts';

/** Edits come in bursts (an editor writes, renames, chmods): one re-read per lesson per quiet moment. */
const SETTLE_MS = 150;

/** What became of an edit: re-staged, or refused with the lesson's problems. */
export interface Restage {
  restaged: boolean;
  problems: LessonProblem[];
}

export interface LessonWatch {
  /** The outcome of the next re-read of `slug` (tests wait on it instead of on time). */
  next(slug: string): Promise<Restage>;
  close(): void;
}

export function watchLessons(lessonsDir: string, lessons: Map<string, StagedLesson>, stagingDir: string, onRestaged: (lesson: Lesson) => void = () => {}): LessonWatch {
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  const waiters = new Map<string, Array<(outcome: Restage) => void>>();
  const settle = (slug: string, outcome: Restage) => {
    for (const wake of waiters.get(slug)?.splice(0) ?? []) wake(outcome);
  };
  const restage = (slug: string) => {
    const staged = lessons.get(slug);
    if (!staged) return; // a new lesson needs a restart: its page needs a build too
    let read: ReturnType<typeof readLesson>;
    try {
      read = readLesson(join(lessonsDir, slug), slug, lessonsDir);
    } catch (error) {
      // The folder went away (removed, renamed, another branch checked out): keep the last good lesson.
      log.error({ err: error }, `lesson ${slug} not re-read: restart npm run dev if it moved`);
      return settle(slug, { restaged: false, problems: [{ file: join(slug, 'index.mdx'), field: 'index.mdx', reason: (error as Error).message, fix: 'put the lesson folder back, or restart npm run dev' }] });
    }
    const { lesson, problems } = read;
    if (!lesson) {
      for (const problem of problems) log.error(`lesson not re-staged: ${formatProblem(problem)}`);
      return settle(slug, { restaged: false, problems });
    }
    try {
      restageLesson(lesson, stagingDir);
    } catch (error) {
      log.error({ err: error }, `lesson ${slug} not re-staged`);
      return settle(slug, { restaged: false, problems: [{ file: lesson.file, field: 'staging', reason: (error as Error).message, fix: 'fix what the message names (native/ build, a file) and save again' }] });
    }
    staged.lesson = lesson;
    onRestaged(lesson);
    log.info(`lesson ${slug} re-staged: the next Check uses what you saved`);
    settle(slug, { restaged: true, problems: [] });
  };
  let watcher: FSWatcher | undefined = watch(lessonsDir, { recursive: true }, (_event, file) => {
    const slug = file?.toString().split('/')[0];
    if (!slug || !lessons.has(slug)) return;
    clearTimeout(pending.get(slug));
    pending.set(slug, setTimeout(() => restage(slug), SETTLE_MS));
  });
  watcher.on('error', (error) => log.error({ err: error }, 'watching the lessons failed: restart npm run dev'));
  return {
    next: (slug) => new Promise((resolve) => waiters.set(slug, [...(waiters.get(slug) ?? []), resolve])),
    close: () => {
      watcher?.close();
      watcher = undefined;
      pending.forEach((timer) => clearTimeout(timer));
    },
  };
}
