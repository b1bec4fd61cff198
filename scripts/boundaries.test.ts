/**
 * The parts' boundaries are the compiler's (tsconfig.base.json): in a copy of the parts, a probe
 * file that crosses one fails `tsc -b` with the error that names it — the protocol importing the
 * server, the server importing the site's code or a shared service (the server finds services by
 * folder at run time), the browser bundle using Node — and the copy
 * without probes builds clean, so each failure is the probe's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const root = join(import.meta.dirname, '..');
const copy = mkdtempSync(join(tmpdir(), 'opslab-boundaries-'));

before(() => {
  for (const entry of ['tsconfig.base.json', 'protocol', 'lesson-model', 'sandbox-server/src', 'sandbox-server/tsconfig.json', 'services', 'src']) cpSync(join(root, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
});
after(() => rmSync(copy, { recursive: true, force: true }));

function build(project: string, probe?: { file: string; text: string }): { status: number | null; output: string } {
  if (probe) writeFileSync(join(copy, probe.file), probe.text);
  try {
    const result = spawnSync('npx', ['tsc', '-b', project], { cwd: copy, encoding: 'utf8' });
    return { status: result.status, output: result.stdout + result.stderr };
  } finally {
    if (probe) rmSync(join(copy, probe.file));
  }
}

test('without probes, the protocol, the server and the browser bundle build clean', () => {
  for (const project of ['protocol', 'sandbox-server', 'services', 'src/client']) {
    const { status, output } = build(project);
    assert.equal(status, 0, `${project}: ${output}`);
  }
});

test('the protocol cannot import the server', () => {
  const { status, output } = build('protocol', { file: 'protocol/probe.ts', text: "export { log } from '../sandbox-server/src/log.ts';\n" });
  assert.notEqual(status, 0);
  assert.match(output, /protocol\/probe\.ts\(1,\d+\): error TS6307: File '.*sandbox-server\/src\/log\.ts' is not listed within the file list of project/);
});

test('the server cannot import the site\'s code', () => {
  const { status, output } = build('sandbox-server', { file: 'sandbox-server/src/probe.ts', text: "export { lessonsLoader } from '../../src/lessons/loader.ts';\n" });
  assert.notEqual(status, 0);
  assert.match(output, /sandbox-server\/src\/probe\.ts\(1,\d+\): error TS6307: File '.*src\/lessons\/loader\.ts' is not listed within the file list of project/);
});

test('the server cannot import a shared service: it loads services/<name>/service.ts by name', () => {
  const { status, output } = build('sandbox-server', { file: 'sandbox-server/src/probe.ts', text: "export { OpenStackCloud } from '../../services/openstack/cloud.ts';\n" });
  assert.notEqual(status, 0);
  assert.match(output, /sandbox-server\/src\/probe\.ts\(1,\d+\): error TS6307: File '.*services\/openstack\/cloud\.ts' is not listed within the file list of project/);
});

test('the browser bundle cannot use Node: neither node: modules nor its globals', () => {
  const { status, output } = build('src/client', { file: 'src/client/probe.ts', text: "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\nexport const pid = process.pid;\n" });
  assert.notEqual(status, 0);
  assert.match(output, /src\/client\/probe\.ts\(1,\d+\): error TS2307: Cannot find module 'node:fs'/);
  assert.match(output, /src\/client\/probe\.ts\(3,\d+\): error TS2591: Cannot find name 'process'/);
});
