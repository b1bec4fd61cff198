/**
 * Fails `astro build` (and `astro dev`) on a broken lesson, with file, field and reason: the content
 * collection checks frontmatter, but not that every <Step> has its check.sh and solve.sh.
 */
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import { loadCatalog } from './catalog.ts';

export function lessonsIntegration(): AstroIntegration {
  return {
    name: 'opslab-lessons',
    hooks: {
      'astro:config:setup': ({ config, logger }) => {
        const lessons = loadCatalog(fileURLToPath(new URL('./lessons/', config.root)));
        logger.info(`${lessons.length} lessons, ${lessons.reduce((n, l) => n + l.steps.length, 0)} steps: all have check.sh and solve.sh`);
      },
    },
  };
}
