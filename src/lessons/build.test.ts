/** `astro build` itself refuses a broken lesson, naming file, field and reason (a copy of the site with one lesson broken). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const root = join(import.meta.dirname, '../..');
const copy = mkdtempSync(join(tmpdir(), 'opslab-build-'));
after(() => rmSync(copy, { recursive: true, force: true }));

for (const entry of ['astro.config.mjs', 'tsconfig.json', 'tsconfig.base.json', 'package.json', 'src', 'lessons', 'protocol', 'lesson-model']) cpSync(join(root, entry), join(copy, entry), { recursive: true });
symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));

function build(): { status: number | null; output: string } {
  const result = spawnSync('npx', ['astro', 'build'], { cwd: copy, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('a lesson with a broken frontmatter field fails the build with file, field and reason', () => {
  const file = join(copy, 'lessons/getting-started/index.mdx');
  const original = readFileSync(file, 'utf8');
  writeFileSync(file, original.replace(/^duration: \d+$/m, 'duration: twenty'));
  try {
    const { status, output } = build();
    assert.notEqual(status, 0);
    assert.match(output, /lessons\/getting-started\/index\.mdx:\d+: duration: Expected number, received string\. Fix: give duration a number value/);
  } finally {
    writeFileSync(file, original);
  }
});

test('a step without check.sh fails the build and says which file to create', () => {
  const check = 'lessons/getting-started/steps/stop-server/check.sh';
  rmSync(join(copy, check));
  try {
    const { status, output } = build();
    assert.notEqual(status, 0);
    assert.match(output, /lessons\/getting-started\/index\.mdx:\d+: <Step id="stop-server">: has no check script\. Fix: create lessons\/getting-started\/steps\/stop-server\/check\.sh/);
  } finally {
    cpSync(join(root, check), join(copy, check));
  }
});

test('a second build of unchanged lessons renders every lesson page again (entries kept in the content cache)', () => {
  for (const round of [1, 2]) {
    rmSync(join(copy, 'dist'), { recursive: true, force: true });
    const { status, output } = build();
    assert.equal(status, 0, `build ${round}: ${output.slice(-2000)}`);
    assert.match(readFileSync(join(copy, 'dist/lessons/getting-started/index.html'), 'utf8'), /data-step="create-file"/, `build ${round}`);
  }
});
