/**
 * The platform's OpenStack calls over a connection that breaks before an answer (an API server
 * closing a kept-alive socket as it is reused; a worker restarting): a repeatable request is sent
 * again, a POST is not (it could create a second server). The peer is a loopback HTTP server that
 * speaks just enough Keystone to hand out a catalog pointing at itself, and cuts the connections
 * it is told to.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { OpenStackSession } from '../api.ts';

const seen: string[] = [];
/** How many more requests, by "METHOD path", are answered by cutting the connection. */
const toCut = new Map<string, number>();
let base = '';

const server = createServer((request, response) => {
  const key = `${request.method} ${request.url}`;
  seen.push(key);
  const cuts = toCut.get(key) ?? 0;
  if (cuts > 0) {
    toCut.set(key, cuts - 1);
    request.socket.destroy(); // no answer at all: the client sees its connection reset
    return;
  }
  if (key === 'POST /v3/auth/tokens') {
    response.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'token' });
    response.end(JSON.stringify({ token: { project: { id: 'p' }, catalog: [{ type: 'compute', endpoints: [{ interface: 'public', region: 'RegionOne', url: `${base}/compute` }] }] } }));
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ servers: [] }));
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const login = () => OpenStackSession.login({ authUrl: `${base}/v3`, username: 'admin', password: 'x', projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default', region: 'RegionOne' });

test('a GET whose connection is cut is sent again and answered; a cut POST is not sent again', async () => {
  const session = await login();
  seen.length = 0;
  toCut.set('GET /compute/servers', 2);
  assert.deepEqual(await session.call('compute', 'GET', '/servers'), { servers: [] });
  assert.deepEqual(seen, ['GET /compute/servers', 'GET /compute/servers', 'GET /compute/servers'], 'cut twice, answered the third time');

  seen.length = 0;
  toCut.set('POST /compute/servers', 1);
  await assert.rejects(session.call('compute', 'POST', '/servers', { server: { name: 'test1' } }), TypeError);
  assert.deepEqual(seen, ['POST /compute/servers'], 'sent once');
});

test('a GET cut every time fails after its retries, with the connection\'s error', async () => {
  const session = await login();
  seen.length = 0;
  toCut.set('GET /compute/flavors', 10);
  await assert.rejects(session.call('compute', 'GET', '/flavors'), (error: Error) => error instanceof TypeError && /fetch failed/.test(error.message));
  assert.equal(seen.length, 3, 'one try and two retries');
});
