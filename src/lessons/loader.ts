/**
 * The site's lessons collection, read through the lesson model (lesson-model/catalog.ts) — the same
 * parser the sandbox server and the authoring tools use, so a lesson the server refuses is a lesson
 * the build refuses, with the same file, field and reason.
 *
 * Each entry's MDX is rendered by @astrojs/mdx (deferred, like Astro's glob loader does); its data is
 * the lesson's page view. In `astro dev` a change anywhere in a lesson's folder reloads the catalog;
 * a broken lesson is then reported and the last good one kept, so the author sees the error and the
 * page keeps working.
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Loader, LoaderContext } from 'astro/loaders';
import { lessonPage, loadCatalog } from '../../lesson-model/catalog.ts';
import { lessonPageSchema } from '../../lesson-model/schema.ts';

/** `lessonsDir`: the lessons' folder, relative to the project's root. */
export function lessonsLoader(lessonsDir = 'lessons/'): Loader {
  return {
    name: 'opslab-lessons',
    schema: lessonPageSchema,
    load: async (context: LoaderContext) => {
      const { store, config, logger, watcher, generateDigest } = context;
      const dir = fileURLToPath(new URL(lessonsDir, config.root));
      const sync = () => {
        const lessons = loadCatalog(dir);
        const seen = new Set<string>();
        for (const lesson of lessons) {
          seen.add(lesson.slug);
          const data = lessonPage(lesson);
          const filePath = relative(fileURLToPath(config.root), lesson.file).split(sep).join('/');
          const changed = store.set({
            id: lesson.slug,
            data,
            body: lesson.body,
            filePath,
            // The steps live outside index.mdx (steps/<id>/): both belong in the digest.
            digest: generateDigest({ body: lesson.body, data: JSON.stringify(data), filePath }),
            deferredRender: true,
          });
          // An entry kept from the last build (same digest) is not set again, and so not rendered
          // unless its module is named again, as Astro's own glob loader does.
          if (!changed) store.addModuleImport(filePath);
        }
        for (const id of store.keys()) if (!seen.has(id)) store.delete(id);
        return lessons;
      };
      const lessons = sync();
      logger.info(`${lessons.length} lessons, ${lessons.reduce((n, l) => n + l.steps.length, 0)} steps: all have check.sh and solve.sh`);
      if (!watcher) return;
      watcher.add(dir);
      const onChange = (path: string) => {
        if (relative(dir, path).startsWith('..')) return;
        try {
          sync();
        } catch (error) {
          logger.error((error as Error).message);
        }
      };
      for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) watcher.on(event, onChange);
    },
  };
}
