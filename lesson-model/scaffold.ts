/**
 * A new lesson's folder, with every part a lesson can have: index.mdx with every frontmatter field
 * and one example step (with a hint, a solution and a click-to-run block), files/ (copied into the
 * learner's home), setup.sh, the step's check.sh and solve.sh, and a lab test that types the step's
 * command in a real terminal. As scaffolded, the lesson passes lessons:lint and lessons:test; the
 * author edits from there. `npm run new-lesson` (scripts/new-lesson.ts) is its command line.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lessonDirs, loadLesson } from './catalog.ts';
import { sandboxProfiles, type SandboxProfile } from './schema.ts';
import { idPattern } from '../protocol/messages.ts';

export interface ScaffoldOptions {
  slug: string;
  title?: string;
  profile?: SandboxProfile;
  terminals?: number;
}

const STEP = 'write-note';

function titleOf(slug: string): string {
  const words = slug.split('-').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function indexMdx(o: Required<ScaffoldOptions>, order: number): string {
  const terminals = Array.from({ length: o.terminals }, (_, i) => (i === 0 ? '  - { id: main, title: Terminal }' : `  - { id: terminal-${i + 1}, title: Terminal ${i + 1} }`));
  return `---
# Every frontmatter field, with its default where it has one: docs/authoring.md, "Frontmatter".
title: ${JSON.stringify(o.title)}
summary: One sentence on what the learner does here and why it matters.
# Minutes in an instructor-led workshop; the event's agenda adds these up.
duration: 10
# Position on the index page and in the agenda.
order: ${order}
# What the sandbox may do: small (a shell), cluster (several machines), network (its own LAN, NAT, /dev/net/tun).
profile: ${o.profile}
# Debian packages the sandbox uses; npm run setup installs them.
packages: []
# Shared services of the room (e.g. [openstack]).
services: []
terminals:
${terminals.join('\n')}
# Columns the lesson's commands need (wide tables); the page splits to give the terminal these.
columns: 80
# Seconds a check.sh may run; stepTimeouts overrides it per step.
checkTimeout: 30
stepTimeouts: {}
---

Say in a paragraph what the learner will build and why. Everything below runs in their own sandbox:
a real shell, its home folder, the files the lesson ships in \`files/\`.

<Step id="${STEP}" title="Copy the greeting into a note">

The lesson put \`greeting.txt\` in your home folder. Copy it to \`notes/hello.txt\`:

\`\`\`bash run
cp ~/greeting.txt ~/notes/hello.txt
\`\`\`

<Hint>\`cp <from> <to>\` copies a file; \`~\` is your home folder.</Hint>

<Solution>

\`\`\`bash run
cp ~/greeting.txt ~/notes/hello.txt
\`\`\`

</Solution>

</Step>
`;
}

const CHECK = `#!/bin/bash
# Exit 0 when the step is done; what this prints is the learner's feedback, so say what is missing
# and how to fix it. It runs in the learner's sandbox, in the checker's own view: read the state the
# step leaves (a file, a process, a port), never the shell history.
note=/root/notes/hello.txt
if [ ! -f "$note" ]; then
  echo "There is no note yet: copy greeting.txt from your home folder to notes/hello.txt."
  exit 1
fi
if ! cmp -s "$note" /root/greeting.txt; then
  echo "notes/hello.txt is there but does not hold the greeting: copy greeting.txt over it again."
  exit 1
fi
echo "Your note holds the greeting."
`;

const SOLVE = `#!/bin/bash
# Does the step the way a learner would: "Solve it for me" runs it, and lessons:test proves that
# check.sh fails before it and passes after it. For a step with an answer field, print the answer last.
set -e
cp /root/greeting.txt /root/notes/hello.txt
`;

const SETUP = `#!/bin/bash
# Runs once in each new sandbox, as its root, after files/ is copied into the home folder (/root)
# and before the learner's shell starts. Prepare what the lesson's text assumes is there.
set -e
mkdir -p /root/notes
`;

function labTest(slug: string): string {
  return `/**
 * ${slug}, in a real terminal: the command the lesson tells the learner to type, typed into a bash in
 * a fresh sandbox over the WebSocket as the page does, then Check. lessons:test proves each step
 * from its solve.sh; this proves the lesson's text.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newAttendee, startTestServer, TestClient, type TestServer } from '../../../sandbox-server/test/helpers.ts';

const LESSON = '${slug}';
let server: TestServer;

before(async () => {
  server = await startTestServer({ lessonsDir: join(import.meta.dirname, '../..') });
});
after(() => server.stop());

test('the step fails until the learner copies the greeting, then passes', async () => {
  const client = new TestClient(server.url, await newAttendee(server.url));
  await client.hello(LESSON);
  await client.ready();
  const first = await client.check('${STEP}');
  assert.equal(first.passed, false);
  assert.match(first.feedback, /There is no note yet/);
  const { status } = await client.run('cp ~/greeting.txt ~/notes/hello.txt');
  assert.equal(status, 0);
  const second = await client.check('${STEP}');
  assert.equal(second.passed, true, second.feedback);
  await client.close();
});
`;
}

/** Creates the lesson folder; returns the files written. Refuses a bad slug or an existing folder. */
export function scaffoldLesson(lessonsDir: string, options: ScaffoldOptions): string[] {
  const o: Required<ScaffoldOptions> = { title: titleOf(options.slug), profile: 'small', terminals: 1, ...options };
  if (!idPattern.test(o.slug)) throw new Error(`"${o.slug}" is not a lesson slug: lowercase letters, digits and dashes (e.g. dns-basics)`);
  if (!sandboxProfiles.includes(o.profile)) throw new Error(`--profile ${o.profile}: say one of ${sandboxProfiles.join(', ')}`);
  if (!Number.isInteger(o.terminals) || o.terminals < 1 || o.terminals > 8) throw new Error('--terminals: a number from 1 to 8');
  const dir = join(lessonsDir, o.slug);
  if (existsSync(dir)) throw new Error(`${dir} exists already: choose another slug, or remove it`);
  const existing = existsSync(lessonsDir) ? lessonDirs(lessonsDir) : [];
  const order = Math.max(0, ...existing.map(({ slug, dir: d }) => {
    try {
      return loadLesson(d, slug, lessonsDir).order + 1;
    } catch {
      return 0; // a broken lesson next door does not stop a new one
    }
  }));
  const files: Array<[string, string, number]> = [
    ['index.mdx', indexMdx(o, order), 0o644],
    ['files/greeting.txt', 'Hello from the lesson’s files/ folder!\n', 0o644],
    ['setup.sh', SETUP, 0o755],
    [`steps/${STEP}/check.sh`, CHECK, 0o755],
    [`steps/${STEP}/solve.sh`, SOLVE, 0o755],
    ['test/lab.test.ts', labTest(o.slug), 0o644],
  ];
  for (const [path, text, mode] of files) {
    const file = join(dir, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
    chmodSync(file, mode);
  }
  return files.map(([path]) => join(dir, path));
}

