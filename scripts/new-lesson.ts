/**
 * `npm run new-lesson -- <slug> [--title "…"] [--profile small|cluster|network] [--terminals N]`
 *
 * Scaffolds lessons/<slug>/ (or $OPSLAB_LESSONS_DIR/<slug>/): see lesson-model/scaffold.ts for what
 * it holds. The lesson passes lessons:lint and lessons:test as it is.
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { scaffoldLesson } from '../lesson-model/scaffold.ts';
import type { SandboxProfile } from '../lesson-model/schema.ts';

if (process.argv[1] === import.meta.filename) {
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: { title: { type: 'string' }, profile: { type: 'string' }, terminals: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new Error('usage: npm run new-lesson -- <slug> [--title "…"] [--profile small|cluster|network] [--terminals N]');
    const lessonsDir = process.env.OPSLAB_LESSONS_DIR ?? join(import.meta.dirname, '..', 'lessons');
    const written = scaffoldLesson(lessonsDir, {
      slug: positionals[0]!,
      ...(values.title !== undefined ? { title: values.title } : {}),
      ...(values.profile !== undefined ? { profile: values.profile as SandboxProfile } : {}),
      ...(values.terminals !== undefined ? { terminals: Number(values.terminals) } : {}),
    });
    const shown = (path: string) => relative(process.cwd(), path);
    console.log(`new lesson ${positionals[0]}:\n${written.map((f) => `  ${shown(f)}`).join('\n')}`);
    console.log(`\nnext:\n  npm run dev                                 # the page at http://localhost:4321/lessons/${positionals[0]}/, live\n  npm run lessons:lint -- ${positionals[0]}\n  npm run lessons:test -- ${positionals[0]}`);
  } catch (error) {
    console.error(`new-lesson: ${(error as Error).message}`);
    process.exit(2);
  }
}
