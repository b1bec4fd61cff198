/**
 * The platform's OpenStack calls over a connection that breaks before an answer (an API server
 * closing a kept-alive socket as it is reused; a worker restarting): a repeatable request is sent
 * again, a POST is not (it could create a second server), and an answer that is not HTTP is no
 * reason to ask again. The peer is a loopback HTTP server that
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
/** Requests, by "METHOD path", whose work is done but whose answer is lost (the connection cut after it). */
const answerLost = new Set<string>();
/** Paths whose DELETE or upload has been done. */
const done = new Set<string>();
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
  if (request.method === 'PUT') {
    // Glance: an image's data is uploaded once; a second upload is refused with 409.
    request.resume().on('end', () => {
      const again = done.has(request.url!);
      done.add(request.url!);
      if (answerLost.delete(key)) request.socket.destroy();
      else response.writeHead(again ? 409 : 204).end();
    });
    return;
  }
  if (request.method === 'DELETE') {
    const gone = done.has(request.url!);
    done.add(request.url!);
    if (answerLost.delete(key)) {
      request.socket.destroy();
      return;
    }
    response.writeHead(gone ? 404 : 204).end();
    return;
  }
  if (key === 'GET /compute/malformed') {
    request.socket.end('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n');
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

test('a DELETE whose answer was lost is sent again and its 404 taken for done; a first 404 is still an error', async () => {
  const session = await login();
  seen.length = 0;
  answerLost.add('DELETE /compute/servers/s1');
  assert.equal(await session.call('compute', 'DELETE', '/servers/s1'), undefined);
  assert.deepEqual(seen, ['DELETE /compute/servers/s1', 'DELETE /compute/servers/s1'], 'deleted by the first try, 404 on the second');
  await assert.rejects(session.call('compute', 'DELETE', '/servers/s1'), /HTTP 404/, 'without a retry a 404 says what it says');
});

test('an image upload whose answer was lost is sent again and Glance\'s 409 taken for done', async () => {
  const session = await login();
  seen.length = 0;
  answerLost.add('PUT /compute/images/i1/file');
  await session.upload('compute', '/images/i1/file', new Blob([new Uint8Array(4096)]));
  assert.deepEqual(seen, ['PUT /compute/images/i1/file', 'PUT /compute/images/i1/file'], 'uploaded by the first try, 409 on the second');
  await assert.rejects(session.upload('compute', '/images/i1/file', new Blob(['x'])), /HTTP 409/, 'without a retry a 409 says what it says');
});

test('an answer that is not HTTP is not asked for again: only a broken connection is', async () => {
  const session = await login();
  seen.length = 0;
  await assert.rejects(session.call('compute', 'GET', '/malformed'), (error: Error) => error instanceof TypeError && (error.cause as { code?: string }).code === 'HPE_INVALID_CONTENT_LENGTH');
  assert.deepEqual(seen, ['GET /compute/malformed'], 'asked once');
});

test('a GET cut every time fails after its retries, with the connection\'s error', async () => {
  const session = await login();
  seen.length = 0;
  toCut.set('GET /compute/flavors', 10);
  await assert.rejects(session.call('compute', 'GET', '/flavors'), (error: Error) => error instanceof TypeError && /fetch failed/.test(error.message));
  assert.equal(seen.length, 3, 'one try and two retries');
});
