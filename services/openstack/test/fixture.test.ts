/**
 * A lesson's OpenStack fixture is read against its schema: the nova-shelving lesson's as it is, and
 * a mistaken one refused with the file and the field (lessons:lint and an attendee's start say the same).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readOpenStackFixture } from '../fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'opslab-fixture-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (value: unknown) => {
  const path = join(dir, 'openstack.json');
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};
const tiny = { name: 'm1.tiny', ram: 64, vcpus: 1, disk: 1 };

test('the cloud lesson\'s fixture: a flavor, an image and a server with no network', () => {
  const fixture = readOpenStackFixture(join(import.meta.dirname, '../../../lessons/nova-shelving/services/openstack.json'));
  assert.deepEqual(fixture.servers, [{ name: 'test1', flavor: 'm1.tiny', image: 'cirros', networks: 'none' }]);
  assert.deepEqual(fixture.flavors.map((f) => f.name), ['m1.tiny']);
  assert.deepEqual(fixture.images, [{ name: 'cirros' }]);
});

test('a mistaken fixture names the file and the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['{ not json', /openstack\.json: not a readable JSON file/],
    [{ flavors: [tiny], servers: [{ name: 'vm', flavor: 'm1.tiny', image: 'debian' }] }, /openstack\.json: field "servers\.0\.image": no image "debian" in images/],
    [{ images: [{ name: 'cirros' }], servers: [{ name: 'vm', flavor: 'm1.huge', image: 'cirros' }] }, /field "servers\.0\.flavor": no flavor "m1\.huge" in flavors/],
    [{ flavors: [{ ...tiny, ram: '64' }] }, /field "flavors\.0\.ram": Expected number, received string/],
    [{ servers: [], volumes: [] }, /field "\(top level\)": Unrecognized key\(s\) in object: 'volumes'/],
    [{ images: [{ name: '../etc' }] }, /field "images\.0\.name": must be letters, digits/],
    [{ flavors: [tiny], images: [{ name: 'cirros' }], servers: [{ name: 'vm', flavor: 'm1.tiny', image: 'cirros', networks: 'public' }] }, /field "servers\.0\.networks": Invalid enum value/],
  ];
  for (const [value, error] of cases) assert.throws(() => readOpenStackFixture(write(value)), error, JSON.stringify(value));
});
