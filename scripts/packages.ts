/**
 * What `npm run setup` installs for the lessons, one per line: the Debian packages they need (each
 * lesson's `packages:` and those of the shared services it uses, services/<name>/packages), or the
 * lessons and services themselves (to build their programs and run the services' setup.sh).
 *
 *   tsx scripts/packages.ts [--lessons <a>,<b>] [--print packages|services|lessons]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalog, type Lesson } from '../lesson-model/catalog.ts';

const root = join(import.meta.dirname, '..');

/** A service folder's `packages` file: names separated by white space, `#` starts a comment. */
export function servicePackages(servicesDir: string, service: string): string[] {
  const file = join(servicesDir, service, 'packages');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(/\s+/))
    .filter(Boolean);
}

/** The lessons named in `wanted` (all when it is empty); an unknown name is an error that lists the known ones. */
export function selectLessons(catalog: Lesson[], wanted: string[]): Lesson[] {
  const unknown = wanted.filter((slug) => !catalog.some((lesson) => lesson.slug === slug));
  if (unknown.length > 0) {
    throw new Error(`unknown lesson${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the lessons are ${catalog.map((l) => l.slug).join(', ')}`);
  }
  return wanted.length === 0 ? catalog : catalog.filter((lesson) => wanted.includes(lesson.slug));
}

export function lessonPackages(lessons: Lesson[], servicesDir: string): string[] {
  const names = new Set<string>();
  for (const lesson of lessons) {
    lesson.packages.forEach((name) => names.add(name));
    for (const service of lesson.services) servicePackages(servicesDir, service).forEach((name) => names.add(name));
  }
  return [...names].sort();
}

if (process.argv[1] === import.meta.filename) {
  try {
    const { values } = parseArgs({ options: { lessons: { type: 'string', default: '' }, print: { type: 'string', default: 'packages' } } });
    const wanted = values.lessons.split(',').map((s) => s.trim()).filter(Boolean);
    const lessons = selectLessons(loadCatalog(join(root, 'lessons')), wanted);
    const lines: Record<string, () => string[]> = {
      packages: () => lessonPackages(lessons, join(root, 'services')),
      services: () => [...new Set(lessons.flatMap((lesson) => lesson.services))].sort(),
      lessons: () => lessons.map((lesson) => lesson.slug),
    };
    const print = lines[values.print];
    if (!print) throw new Error(`--print ${values.print}: say packages, services or lessons`);
    for (const line of print()) console.log(line);
  } catch (error) {
    console.error(`setup: ${(error as Error).message}`);
    process.exit(2);
  }
}
