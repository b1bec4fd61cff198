import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { lessonFrontmatterSchema } from './schemas/lesson.ts';

const lessons = defineCollection({
  // One folder per lesson: lessons/<slug>/index.mdx; the folder name is the slug.
  loader: glob({ pattern: '*/index.mdx', base: './lessons', generateId: ({ entry }) => entry.split('/')[0]! }),
  schema: lessonFrontmatterSchema,
});

export const collections = { lessons };
