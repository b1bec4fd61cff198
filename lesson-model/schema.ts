/**
 * The lesson frontmatter schema: one source of truth for the Astro content collection
 * (src/content.config.ts) and the sandbox server (which needs the profile, terminals and timeouts).
 */
import { z } from 'zod';
import { idPattern } from '../protocol/messages.ts';

/** Debian policy §5.6.1: at least two characters, starting with a letter or digit. */
const debianPackage = /^[a-z0-9][a-z0-9+.-]+$/;

const id = z.string().regex(idPattern, 'must be lowercase letters, digits and dashes (max 64)');

/** Shared services a lesson may need; the server brings each up once for the room (sandbox-server/src/cloud/). */
export const sharedServices = ['openstack'] as const;

/** Sandbox profiles a lesson may ask for; the server's configuration decides what each one grants. */
export const sandboxProfiles = ['small', 'cluster', 'network'] as const;
export type SandboxProfile = (typeof sandboxProfiles)[number];

export const terminalSchema = z
  .object({
    id,
    title: z.string().min(1),
    /** Typed into the shell once it starts, e.g. `vagrant ssh mariadb-02`. */
    command: z.string().min(1).optional(),
  })
  .strict();
export type TerminalSpec = z.infer<typeof terminalSchema>;

export const lessonFrontmatterSchema = z
  .object({
    title: z.string().min(1),
    summary: z.string().min(1),
    /** Minutes the lesson takes in an instructor-led workshop. */
    duration: z.number().int().positive().max(600),
    /** Position on the index page and in the agenda. */
    order: z.number().int().nonnegative(),
    profile: z.enum(sandboxProfiles).default('small'),
    /**
     * Debian packages the lesson's sandbox uses (its programs run from the host's /usr, read-only):
     * `npm run setup` installs the union of every lesson's, `-- --lessons a,b` only those lessons'.
     */
    packages: z.array(z.string().regex(debianPackage, 'must be a Debian package name (lowercase letters, digits, + - .)')).default([]),
    /** Shared services the lesson needs (e.g. `openstack`). */
    services: z.array(z.enum(sharedServices)).default([]),
    terminals: z.array(terminalSchema).min(1).default([{ id: 'main', title: 'Terminal' }]),
    /**
     * Columns the lesson's commands need (e.g. 132 for `nova list` tables): the page's default split
     * gives the terminal that many where the window allows. Without it, 80.
     */
    columns: z.number().int().min(40).max(250).optional(),
    /** Seconds a check.sh may run before it counts as failed. */
    checkTimeout: z.number().int().positive().max(600).default(30),
    /** Per-step overrides of checkTimeout, keyed by step id. */
    stepTimeouts: z.record(id, z.number().int().positive().max(600)).default({}),
  })
  .strict();
export type LessonFrontmatter = z.infer<typeof lessonFrontmatterSchema>;

/** What a page needs of a lesson (the site's content collection holds these): no paths on this machine. */
export const lessonPageSchema = lessonFrontmatterSchema.extend({
  slug: id,
  steps: z.array(
    z
      .object({
        id,
        title: z.string(),
        answer: z.string().optional(),
        /** A <Quiz>: its options as the page shows them; which are correct stays on the server. */
        quiz: z.object({ options: z.array(z.string()), multiple: z.boolean() }).strict().optional(),
      })
      .strict(),
  ),
});
export type LessonPage = z.infer<typeof lessonPageSchema>;
