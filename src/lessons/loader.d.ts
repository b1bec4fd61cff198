import type { Loader } from 'astro/loaders';
/** `lessonsDir`: the lessons' folder, relative to the project's root. */
export declare function lessonsLoader(lessonsDir?: string): Loader;
