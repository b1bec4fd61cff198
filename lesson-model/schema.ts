/**
 * The lesson frontmatter schema: one source of truth for the Astro content collection
 * (src/content.config.ts) and the sandbox server (which needs the profile, terminals and timeouts).
 */
import { z } from 'zod';
import { idPattern } from '../protocol/messages.ts';

/** Debian policy §5.6.1: at least two characters, starting with a letter or digit. */
const debianPackage = /^[a-z0-9][a-z0-9+.-]+$/;

const id = z.string().regex(idPattern, 'must be lowercase letters, digits and dashes (max 64)');

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

/*
 * Each field's description is the authoring guide's frontmatter reference: scripts/frontmatter-doc.ts
 * writes it into docs/authoring.md, and a test fails when the two differ.
 */
export const lessonFrontmatterSchema = z
  .object({
    title: z.string().min(1).describe('The lesson\'s name, on its page, the index and the agenda.'),
    summary: z.string().min(1).describe('One or two sentences on the index page: what the learner does and why.'),
    duration: z.number().int().positive().max(600).describe('Minutes the lesson takes in an instructor-led workshop; an event\'s agenda adds them up.'),
    order: z.number().int().nonnegative().describe('Position on the index page and in the agenda.'),
    profile: z.enum(sandboxProfiles).default('small').describe('What the sandbox may do: `small` (a shell), `cluster` (several servers, more memory), `network` (its own LAN, NAT, `/dev/net/tun`, the machine\'s turn queue).'),
    packages: z
      .array(z.string().regex(debianPackage, 'must be a Debian package name (lowercase letters, digits, + - .)'))
      .default([])
      .describe('Debian packages the sandbox\'s programs come from (the host\'s `/usr`, read-only): `npm run setup` installs every lesson\'s, `-- --lessons a,b` those of a and b.'),
    services: z
      .array(id)
      .refine((names) => new Set(names).size === names.length, 'names a service twice')
      .default([])
      .describe('Shared services of the room the lesson needs, by folder name under `services/` (`openstack`): each attendee gets a part of their own, holding what `services/<name>.json` in the lesson\'s folder declares.'),
    terminals: z
      .array(terminalSchema)
      .min(1)
      .default([{ id: 'main', title: 'Terminal' }])
      .describe('The terminals beside the text, as tabs: `{ id, title, command? }`; `command` is typed into the shell once it starts.'),
    columns: z.number().int().min(40).max(250).optional().describe('Columns the lesson\'s output needs (132 for `nova list` tables): the page\'s split gives the terminal that many where the window allows; 80 without it.'),
    checkTimeout: z.number().int().positive().max(600).default(30).describe('Seconds a `check.sh` or `solve.sh` may run before it counts as failed.'),
    stepTimeouts: z.record(id, z.number().int().positive().max(600)).default({}).describe('Per-step overrides of `checkTimeout`, by step id: `{ bootstrap: 120 }`.'),
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
