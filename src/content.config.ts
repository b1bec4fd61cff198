import { defineCollection } from 'astro:content';
import { lessonsLoader } from './lessons/loader.ts';

// One folder per lesson: lessons/<slug>/index.mdx; the folder name is the slug. OPSLAB_LESSONS_DIR
// points the site at another folder, as it does the server (a test's or an author's own lessons).
const lessonsDir = process.env.OPSLAB_LESSONS_DIR?.replace(/\/?$/, '/') ?? 'lessons/';
const lessons = defineCollection({ loader: lessonsLoader(lessonsDir) });

export const collections = { lessons };
