/**
 * Authoring mode (`npm run dev`): an author's save reaches the running server. A scaffolded lesson,
 * a real sandbox and its shell: check.sh edited on the host is what the next Check runs, in the same
 * sandbox (no restart, no new prompt); a file removed from the lesson is gone from the sandbox's
 * view; a broken edit is refused with the lesson's problems and the last good lesson keeps working.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scaffoldLesson } from '../../lesson-model/scaffold.ts';
import { newAttendee, startTestServer, TestClient, type TestServer } from './helpers.ts';

const SLUG = 'edited-live';
const lessons = mkdtempSync(join(tmpdir(), 'opslab-authoring-'));
chmodSync(lessons, 0o755);
const check = join(lessons, SLUG, 'steps/write-note/check.sh');
let server: TestServer;

before(async () => {
  scaffoldLesson(lessons, { slug: SLUG });
  server = await startTestServer({ lessonsDir: lessons, authoring: true });
});
after(async () => {
  await server.stop();
  rmSync(lessons, { recursive: true, force: true });
});

/** Saves `text` into `file` and waits for the server's re-read of the lesson. */
async function save(file: string, text: string) {
  const next = server.lessonWatch!.next(SLUG);
  writeFileSync(file, text);
  return next;
}

test('an edited check.sh is what the next Check runs, in the same sandbox', async () => {
  const client = new TestClient(server.url, await newAttendee(server.url));
  await client.hello(SLUG);
  await client.ready();
  const before = await client.check('write-note');
  assert.equal(before.passed, false);
  assert.match(before.feedback, /There is no note yet/);

  const original = readFileSync(check, 'utf8');
  const outcome = await save(check, original.replace('There is no note yet', 'Still no note (edited while the sandbox ran)'));
  assert.deepEqual(outcome, { restaged: true, problems: [] });
  const after = await client.check('write-note');
  assert.equal(after.passed, false);
  assert.match(after.feedback, /Still no note \(edited while the sandbox ran\)/);
  // The same sandbox: it was not restarted to pick the edit up.
  assert.equal(client.statuses.filter((s) => s.state === 'ready').length, 1);

  // A file taken out of the lesson is gone from the sandbox's view too.
  const { output } = await client.run('ls /opt/opslab/lesson/; cat /opt/opslab/lesson/setup.sh >/dev/null && echo setup-there');
  assert.match(output, /setup-there/);
  const gone = server.lessonWatch!.next(SLUG);
  rmSync(join(lessons, SLUG, 'setup.sh'));
  assert.equal((await gone).restaged, true);
  const { output: after2 } = await client.run('test -e /opt/opslab/lesson/setup.sh || echo setup-gone');
  assert.match(after2, /setup-gone/);
  await client.close();
});

test('a broken edit is refused with its problems, and the last good lesson keeps working', async () => {
  const index = join(lessons, SLUG, 'index.mdx');
  const original = readFileSync(index, 'utf8');
  const outcome = await save(index, original.replace(/^duration: 10$/m, 'duration: ten'));
  assert.equal(outcome.restaged, false);
  assert.match(outcome.problems[0]!.field, /^duration$/);
  assert.match(outcome.problems[0]!.fix, /give duration a number/);

  const client = new TestClient(server.url, await newAttendee(server.url));
  await client.hello(SLUG);
  await client.ready();
  const result = await client.check('write-note');
  assert.equal(result.passed, false);
  assert.match(result.feedback, /Still no note \(edited while the sandbox ran\)/);
  await client.close();
  assert.equal((await save(index, original)).restaged, true);
});

test('a <Quiz> is checked on the server, recorded like a step, and shown on the instructor grid', async () => {
  const index = join(lessons, SLUG, 'index.mdx');
  const quiz = '\n<Quiz id="which-folder" title="Where is the note?">\nWhich folder holds it?\n<Option>/tmp</Option>\n<Option correct>notes, in the home folder</Option>\n</Quiz>\n';
  assert.equal((await save(index, readFileSync(index, 'utf8') + quiz)).restaged, true);
  const { event } = await server.workshop.create({ title: 'Quiz day', lessons: [SLUG], starts: new Date().toISOString(), expected: 2 });
  const cookie = await newAttendee(server.url);
  const attendee = decodeURIComponent(cookie.split('=')[1]!).split('.')[0]!;
  await server.workshop.join(event.code, 'Quinn', attendee);

  const client = new TestClient(server.url, cookie);
  await client.hello(SLUG);
  await client.ready();
  const none = await client.check('which-folder', '');
  assert.deepEqual([none.passed, none.feedback], [false, 'Choose an option, then Check.']);
  const forged = await client.check('which-folder', '0,1');
  assert.equal(forged.passed, false, 'two options where one is right do not pass');
  const wrong = await client.check('which-folder', '0');
  assert.deepEqual([wrong.passed, wrong.feedback], [false, 'Not quite. Read the step again and try once more.']);
  const right = await client.check('which-folder', '1');
  assert.deepEqual([right.passed, right.feedback], [true, 'Right.']);
  assert.equal(client.progress?.steps['which-folder']?.status, 'passed');

  // No "Solve it for me" for a quiz: its solve would hand over the correct options.
  const errors = client.errors.length;
  client.send({ op: 'solve', request: { step: 'which-folder' } });
  await client.until(() => client.errors.length > errors, 'the refusal of a quiz\'s solve');
  assert.match(client.errors.at(-1)!.message, /is a quiz: answer it and Check/);

  const snapshot = await server.workshop.snapshot(event.id);
  assert.ok(snapshot.steps.some((s) => s.id === 'which-folder' && s.title === 'Where is the note?'));
  const row = snapshot.rows.find((r) => r.name === 'Quinn')!;
  assert.deepEqual([row.cells['which-folder']?.state, row.cells['which-folder']?.how, row.cells['which-folder']?.attempts], ['passed', 'check', 4]);
  await client.close();
});

test('"Re-run setup" runs setup.sh again in the running sandbox, in authoring mode only', async () => {
  const setupFile = join(lessons, SLUG, 'setup.sh');
  const next = server.lessonWatch!.next(SLUG);
  writeFileSync(setupFile, '#!/bin/bash\nset -e\nmkdir -p /root/notes\necho "setup ran: $(date +%N)" >> /root/setup-runs\n');
  chmodSync(setupFile, 0o755);
  assert.equal((await next).restaged, true);
  const cookie = await newAttendee(server.url);
  const client = new TestClient(server.url, cookie);
  await client.hello(SLUG);
  await client.ready();
  const post = (url: string) => fetch(`${url}/api/sandboxes/${SLUG}/setup`, { method: 'POST', headers: { cookie, origin: url } });
  const response = await post(server.url);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { lesson: SLUG, ok: true, output: '' });
  const { output } = await client.run('wc -l < /root/setup-runs');
  assert.match(output, /^2\r?$/m, 'setup.sh ran twice: at the start and again');
  await client.close();

  const workshop = await startTestServer({ lessonsDir: lessons });
  try {
    const refused = await fetch(`${workshop.url}/api/sandboxes/${SLUG}/setup`, { method: 'POST', headers: { cookie: await newAttendee(workshop.url), origin: workshop.url } });
    assert.equal(refused.status, 404);
    assert.match(((await refused.json()) as { error: string }).error, /only in authoring mode \(npm run dev\)/);
  } finally {
    await workshop.stop();
  }
});

test('a save where a staged symlink resolves only in the sandbox, or a file became a folder, is re-staged', async () => {
  const bin = join(lessons, SLUG, 'bin');
  mkdirSync(bin, { recursive: true });
  let next = server.lessonWatch!.next(SLUG);
  symlinkSync('/opt/opslab/lesson/setup.sh', join(bin, 'again'));
  assert.equal((await next).restaged, true);
  next = server.lessonWatch!.next(SLUG);
  writeFileSync(join(bin, 'tool'), '#!/bin/sh\necho tool\n');
  writeFileSync(join(bin, 'again-too'), 'x');
  assert.equal((await next).restaged, true, 'the symlink already staged did not stop the next save');
  next = server.lessonWatch!.next(SLUG);
  rmSync(join(bin, 'tool'));
  mkdirSync(join(bin, 'tool'));
  writeFileSync(join(bin, 'tool', 'inner'), 'now a folder');
  assert.equal((await next).restaged, true, 'a file that became a folder');
  assert.equal(readFileSync(join(server.config.stagingDir, 'lessons', SLUG, 'bin/tool/inner'), 'utf8'), 'now a folder');
  assert.equal(readlinkSync(join(server.config.stagingDir, 'lessons', SLUG, 'bin/again')), '/opt/opslab/lesson/setup.sh');
});
