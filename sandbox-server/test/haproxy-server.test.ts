/**
 * The shipped HAProxy configuration (deploy/haproxy/haproxy.cfg), run by Debian's HAProxy 2.6 in
 * front of three small HTTP + WebSocket servers standing in for nodes: a request is sent to the node
 * its `opslab_node` cookie names; without it, one attendee's requests all go to one node; a WebSocket
 * passes through unchanged; a node that dies is marked down, its open WebSocket is cut, and its
 * attendees' next requests go to a survivor — which the same attendee keeps.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { startTestHaproxy, type TestHaproxy } from './haproxy-server.ts';

interface StandIn {
  id: string;
  server: Server;
  port: number;
}

/** A node stand-in: answers /api/health, names itself on every request, echoes WebSocket messages with its name. */
async function standIn(id: string): Promise<StandIn> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ node: id, forwardedFor: req.headers['x-forwarded-for'] ?? null }));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`${id}:${data.toString()}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { id, server, port: (server.address() as AddressInfo).port };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

let nodes: StandIn[];
let lb: TestHaproxy;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map(standIn));
  lb = await startTestHaproxy(await freePort(), { a: nodes[0]!.port, b: nodes[1]!.port, c: nodes[2]!.port });
  for (let i = 0; i < 100 && Object.values(await lb.states()).some((s) => s !== 'UP'); i++) await sleep(100);
  assert.deepEqual(await lb.states(), { 'node-a': 'UP', 'node-b': 'UP', 'node-c': 'UP' });
});
after(async () => {
  await lb?.stop();
  for (const node of nodes ?? []) node.server.closeAllConnections?.(), node.server.close();
});

const get = async (cookie: string) => (await (await fetch(`http://127.0.0.1:${lb.port}/lessons/x/`, { headers: { cookie } })).json()) as { node: string; forwardedFor: string | null };

test('the opslab_node cookie names the node; without it, one attendee stays on one node; X-Forwarded-For is set', async () => {
  for (const node of nodes) assert.equal((await get(`opslab_node=${node.id}; opslab_attendee=someone.mac`)).node, node.id);
  const seen = new Map<string, Set<string>>();
  for (let attendee = 0; attendee < 12; attendee++) {
    for (let i = 0; i < 3; i++) {
      const { node } = await get(`opslab_attendee=attendee${attendee}.mac${i}`);
      (seen.get(`attendee${attendee}`) ?? seen.set(`attendee${attendee}`, new Set()).get(`attendee${attendee}`)!).add(node);
    }
  }
  for (const [attendee, on] of seen) assert.equal(on.size, 1, `${attendee} went to ${[...on].join(', ')}`);
  assert.ok(new Set([...seen.values()].map((on) => [...on][0])).size > 1, 'twelve attendees are spread over more than one node');
  assert.equal((await get('opslab_attendee=x.y')).forwardedFor, '127.0.0.1');
});

test('a WebSocket passes through; when its node dies it is cut, the node is marked down, and its attendee goes to a survivor', async () => {
  const victim = nodes[1]!;
  const ws = new WebSocket(`ws://127.0.0.1:${lb.port}/ws`, { headers: { cookie: `opslab_node=${victim.id}; opslab_attendee=moving.mac` } });
  const first = await new Promise<string>((resolve, reject) => {
    ws.once('open', () => ws.send('hello'));
    ws.once('message', (data) => resolve(data.toString()));
    ws.once('error', reject);
  });
  assert.equal(first, 'node-b:hello');
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  // The node dies: its listener and every connection it held.
  victim.server.closeAllConnections();
  await new Promise((resolve) => victim.server.close(resolve));
  await closed;
  for (let i = 0; i < 100 && (await lb.states())['node-b'] !== 'DOWN'; i++) await sleep(100);
  assert.equal((await lb.states())['node-b'], 'DOWN');
  const survivor = (await get(`opslab_node=${victim.id}; opslab_attendee=moving.mac`)).node;
  assert.notEqual(survivor, victim.id);
  for (let i = 0; i < 3; i++) assert.equal((await get(`opslab_node=${victim.id}; opslab_attendee=moving.mac`)).node, survivor, 'the same survivor each time');
});
