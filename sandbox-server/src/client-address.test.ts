import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { addressKey, ClientAddresses } from './client-address.ts';

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

test('behind a trusted balancer the client is the last X-Forwarded-For hop; anyone else is who they are', () => {
  const addresses = new ClientAddresses(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  assert.equal(addresses.of(request('127.0.0.1', '203.0.113.9')), '203.0.113.9');
  assert.equal(addresses.of(request('::ffff:10.1.2.3', '1.1.1.1, 203.0.113.9')), '203.0.113.9', 'what the client itself wrote before the last hop is not believed');
  assert.equal(addresses.of(request('fd00::1', '2001:db8:1:2:3:4:5:6')), addressKey('2001:db8:1:2:3:4:5:6'));
  assert.equal(addresses.of(request('127.0.0.1')), '127.0.0.1', 'no header: the balancer itself');
  assert.equal(addresses.of(request('127.0.0.1', 'not-an-address')), '127.0.0.1');
  assert.equal(addresses.of(request('198.51.100.7', '203.0.113.9')), '198.51.100.7', 'an untrusted peer cannot pick its address');
  assert.equal(new ClientAddresses([]).of(request('127.0.0.1', '203.0.113.9')), '127.0.0.1', 'no proxies configured: the header means nothing');
  for (const bad of ['10.0.0.0/33', 'localhost', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x']) {
    assert.throws(() => new ClientAddresses([bad]), new RegExp(`OPSLAB_TRUSTED_PROXIES: "${bad.replace(/[./]/g, '\\$&')}" is not an address or a CIDR range`));
  }
});
