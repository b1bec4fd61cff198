/**
 * A shared service is a folder: a second one, written here as a plug-in in a services folder of the
 * test's own (the platform's code untouched), serves a lesson through lessons:test on real
 * sandboxes: it is found by name, reads the lesson's fixture, gives the attendee a part, attaches it
 * to the sandbox, detaches it when the sandbox goes and gives the part back — in that order. And
 * lessons:lint names a service that does not exist, a fixture its service refuses, and a fixture
 * for a service the lesson does not use.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scaffoldLesson } from '../../lesson-model/scaffold.ts';
import { lintServices } from '../../scripts/lessons-lint.ts';
import { availableServices, RoomServices } from '../src/shared-services.ts';

const projectRoot = join(import.meta.dirname, '../..');
const root = mkdtempSync(join(tmpdir(), 'opslab-shared-services-'));
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));
const uidBase = String(Number(process.env.OPSLAB_TEST_UID_BASE ?? 700_000) - 6000);

/**
 * "notes": a room-wide notice board. Each attendee's part is a folder holding the lesson's welcome
 * (from its fixture), bound into the sandbox at /run/opslab/notes. Every call is written to a
 * journal the test reads.
 */
const NOTES_SERVICE = `
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SharedServiceFactory } from ${JSON.stringify(join(projectRoot, 'sandbox-server/src/shared-services.ts'))};

const create: SharedServiceFactory = (context) => {
  const journal = String(context.options.journal ?? process.env.NOTES_JOURNAL);
  const note = (line: string) => appendFileSync(journal, line + '\\n');
  return {
    warmAtStart: false,
    ready: async () => note('ready'),
    // options.hang: a health check that never answers (a cloud whose API hangs).
    health: () => (context.options.hang ? new Promise(() => {}) : Promise.resolve({ ok: true, detail: 'the board is up' })),
    provision: async (attendee, fixture) => {
      const part = join(context.stagingDir, attendee.slice(0, 12));
      mkdirSync(part, { recursive: true, mode: 0o755 });
      writeFileSync(join(part, 'welcome'), String((fixture as { welcome: string }).welcome) + '\\n');
      note('provision ' + attendee);
      return { part };
    },
    deprovision: async (attendee) => {
      rmSync(join(context.stagingDir, attendee.slice(0, 12)), { recursive: true, force: true });
      note('deprovision ' + attendee);
    },
    attach: (grant) => ({
      open: async () => {
        note('attach');
        return [{ source: (grant as { part: string }).part, target: '/run/opslab/notes' }];
      },
      close: async () => {},
    }),
    detach: async (attachment) => {
      await attachment.close();
      note('detach');
    },
    readFixture: (path) => {
      const fixture = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof fixture.welcome !== 'string') throw new Error(path + ': field "welcome": Expected string');
      return fixture;
    },
    stop: async () => note('stop'),
  };
};
export default create;
`;

function makeServices(folder: string): string {
  const services = join(root, folder);
  mkdirSync(join(services, 'notes'), { recursive: true });
  writeFileSync(join(services, 'notes/service.ts'), NOTES_SERVICE);
  return services;
}

/** A scaffolded lesson whose setup reads the attendee's part of the notes service. */
function makeLesson(lessons: string, slug: string, fixture: unknown): string {
  scaffoldLesson(lessons, { slug });
  const dir = join(lessons, slug);
  const mdx = join(dir, 'index.mdx');
  writeFileSync(mdx, readFileSync(mdx, 'utf8').replace(/^services: \[\]$/m, 'services: [notes]'));
  mkdirSync(join(dir, 'services'));
  writeFileSync(join(dir, 'services/notes.json'), JSON.stringify(fixture));
  // The setup fails unless the service's part is in the sandbox, holding the fixture's words.
  appendFileSync(join(dir, 'setup.sh'), 'grep -qx "Welcome to the board" /run/opslab/notes/welcome || { echo "no welcome from the notes service" >&2; exit 1; }\n');
  return dir;
}

test('a second shared service is a folder: lessons:test runs a lesson on it, and its calls come in order', () => {
  const services = makeServices('services-run');
  const lessons = join(root, 'lessons');
  makeLesson(lessons, 'board', { welcome: 'Welcome to the board' });
  assert.match(readFileSync(join(lessons, 'board/index.mdx'), 'utf8'), /^services: \[notes\]$/m, 'the scaffold has a services: line to edit');
  const journal = join(root, 'journal');
  const result = spawnSync('npx', ['tsx', join(projectRoot, 'sandbox-server/src/lessons-test.ts')], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, OPSLAB_LESSONS_DIR: lessons, OPSLAB_SERVICES_DIR: services, NOTES_JOURNAL: journal, OPSLAB_LESSONS_TEST_UID_BASE: uidBase, OPSLAB_LOG_LEVEL: 'warn' },
  });
  const output = result.stdout + result.stderr;
  assert.equal(result.status, 0, output);
  assert.match(output, /lessons:test: 2 passed, 0 failed/);
  const calls = readFileSync(journal, 'utf8').trim().split('\n').map((line) => line.split(' ')[0]);
  assert.deepEqual(calls, ['provision', 'attach', 'detach', 'deprovision', 'stop']);
});

test('the registry loads a service by name, says which are there, and refuses one that is not', async () => {
  const services = makeServices('services-registry');
  assert.deepEqual(availableServices(services), ['notes']);
  assert.deepEqual(availableServices(), ['openstack'], 'the repository\'s own: found by folder, named nowhere in the platform');
  const journal = join(root, 'registry-journal');
  const room = new RoomServices({ stagingDir: join(root, 'staging'), key: async () => Buffer.alloc(32), root: services, serviceOptions: { notes: { journal } } });
  assert.deepEqual(await room.health(), {}, 'no service loaded, none asked (and none started)');
  const notes = await room.get('notes');
  assert.equal(await room.get('notes'), notes, 'one instance per room');
  assert.deepEqual(await room.health(), {}, 'the answer of a moment ago: health is asked at most every few seconds');
  const fresh = new RoomServices({ stagingDir: join(root, 'staging'), key: async () => Buffer.alloc(32), root: services, serviceOptions: { notes: { journal } } });
  await fresh.get('notes');
  assert.deepEqual(await fresh.health(), { notes: { ok: true, detail: 'the board is up' } });
  const hanging = new RoomServices({ stagingDir: join(root, 'staging'), key: async () => Buffer.alloc(32), root: services, serviceOptions: { notes: { journal, hang: true } } });
  await hanging.get('notes');
  assert.deepEqual(await hanging.health(), { notes: { ok: false, detail: 'no answer in 2 s' } }, '/api/health does not hang on a service');
  await assert.rejects(room.get('../notes'), /"\.\.\/notes" is not a shared service's name/);
  await assert.rejects(room.get('ceph'), /no shared service "ceph": .*ceph\/service\.ts does not exist \(services here: notes\)/);
  mkdirSync(join(services, 'broken'));
  writeFileSync(join(services, 'broken/service.ts'), 'export const nothing = 1;\n');
  await assert.rejects(room.get('broken'), /broken\/service\.ts: its default export must be a SharedServiceFactory/);
  await room.stop();
  assert.equal(readFileSync(journal, 'utf8'), 'stop\n');
  // Sandboxes' uids reach what the service binds in, whatever the umask.
  assert.equal(statSync(join(root, 'staging/services')).mode & 0o777, 0o711);
  assert.equal(statSync(join(root, 'staging/services/notes')).mode & 0o777, 0o711);
});

test('lessons:lint: an unknown service, a fixture its service refuses, a fixture for a service not used', async () => {
  const services = makeServices('services-lint');
  const lessons = join(root, 'lint');
  const dir = makeLesson(lessons, 'linted', { welcome: 42 });
  assert.equal(existsSync(join(dir, 'services/notes.json')), true);
  const refused = await lintServices(dir, 'linted', lessons, services);
  assert.equal(refused.length, 1, JSON.stringify(refused));
  assert.deepEqual({ ...refused[0], fix: undefined }, { file: 'lint/linted/services/notes.json', field: 'fixture', reason: 'field "welcome": Expected string', fix: undefined });
  assert.match(refused[0]!.fix, /services\/notes's fixture schema/);

  const mdx = join(dir, 'index.mdx');
  writeFileSync(mdx, readFileSync(mdx, 'utf8').replace('services: [notes]', 'services: [ceph]'));
  const problems = await lintServices(dir, 'linted', lessons, services);
  assert.equal(problems.length, 2, JSON.stringify(problems));
  const [unknown, unused] = problems;
  assert.equal(unknown!.field, 'services: ceph');
  assert.match(unknown!.reason, /is not a shared service here \(no .*ceph\/service\.ts\)/);
  assert.match(unknown!.fix, /name one of: notes/);
  assert.ok(unknown!.line! > 1, 'the line of services: in index.mdx');
  assert.equal(unused!.file, 'lint/linted/services/notes.json');
  assert.match(unused!.reason, /a fixture for "notes", which the lesson's services: does not name/);
});
