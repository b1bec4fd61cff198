/** The authoring guide's frontmatter reference is the schema's: regenerate it with npm run docs:frontmatter. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { frontmatterReference, GUIDE, withReference } from './frontmatter-doc.ts';

test('docs/authoring.md lists every frontmatter field as the schema defines it', () => {
  const guide = readFileSync(GUIDE, 'utf8');
  assert.equal(guide, withReference(guide, frontmatterReference()), 'the guide differs from lesson-model/schema.ts: run npm run docs:frontmatter');
  for (const field of ['title', 'packages', 'stepTimeouts']) assert.match(guide, new RegExp(`\\| \`${field}\` \\|`));
});
