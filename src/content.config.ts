import { defineCollection } from 'astro:content';
import { lessonsLoader } from './lessons/loader.ts';

// One folder per lesson: lessons/<slug>/index.mdx; the folder name is the slug.
const lessons = defineCollection({ loader: lessonsLoader('lessons/') });

export const collections = { lessons };
