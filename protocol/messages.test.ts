import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeClient, decodeHello } from './client-frames.ts';
import { ClientOp, decodeServer, encodeClient, encodeHello, encodeServer, MAX_CLIENT_FRAME, ProtocolError, TERMINAL_LIMITS } from './messages.ts';

const bytes = (...values: number[]) => new Uint8Array(values);

test('client frames round-trip through encode and decode', () => {
  const input = new TextEncoder().encode('ls -la\r');
  assert.deepEqual(decodeClient(encodeClient({ op: 'input', data: input })), { op: 'input', data: input });
  assert.deepEqual(decodeClient(encodeClient({ op: 'resize', cols: 120, rows: 40 })), { op: 'resize', cols: 120, rows: 40 });
  assert.deepEqual(decodeClient(encodeClient({ op: 'pause' })), { op: 'pause' });
  assert.deepEqual(decodeClient(encodeClient({ op: 'resume' })), { op: 'resume' });
  assert.deepEqual(decodeClient(encodeClient({ op: 'check', request: { step: 'create-file', answer: 'x' } })), {
    op: 'check',
    request: { step: 'create-file', answer: 'x' },
  });
  assert.deepEqual(decodeClient(encodeClient({ op: 'solve', request: { step: 's1' } })), { op: 'solve', request: { step: 's1' } });
});

test('server frames round-trip; output bytes stay raw', () => {
  const data = bytes(0, 0xff, 0x1b, 0x5b);
  const out = decodeServer(encodeServer({ op: 'output', data }));
  assert.deepEqual(out, { op: 'output', data });
  const result = { step: 'a', passed: true, solved: false, feedback: 'ok ✓', durationMs: 12 };
  assert.deepEqual(decodeServer(encodeServer({ op: 'check-result', payload: result })), { op: 'check-result', payload: result });
  assert.deepEqual(decodeServer(encodeServer({ op: 'status', payload: { state: 'ready' } })), { op: 'status', payload: { state: 'ready' } });
  assert.throws(() => decodeServer(bytes(0x99)), /unknown server opcode 0x99/);
});

test('resize sizes are clamped, never rejected', () => {
  assert.deepEqual(decodeClient(encodeClient({ op: 'resize', cols: 1, rows: 0 })), { op: 'resize', cols: TERMINAL_LIMITS.minCols, rows: TERMINAL_LIMITS.minRows });
  assert.deepEqual(decodeClient(encodeClient({ op: 'resize', cols: 60000, rows: 9999 })), { op: 'resize', cols: TERMINAL_LIMITS.maxCols, rows: TERMINAL_LIMITS.maxRows });
});

test('invalid client frames are refused with a reason', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [bytes(), /empty frame/],
    [bytes(0x7f), /unknown opcode 0x7f/],
    [bytes(ClientOp.RESIZE, 0, 80), /exactly 4 bytes/],
    [bytes(ClientOp.PAUSE, 1), /no payload/],
    [bytes(ClientOp.CHECK, 0x7b), /not valid UTF-8 JSON/],
    [bytes(ClientOp.CHECK, 0xc3, 0x28), /not valid UTF-8 JSON/],
    [encodeClient({ op: 'check', request: { step: '../../etc' } }), /step: must be lowercase/],
    [new Uint8Array([ClientOp.CHECK, ...new TextEncoder().encode('{"step":"a","extra":1}')]), /Unrecognized key/],
    [new Uint8Array([ClientOp.SOLVE, ...new TextEncoder().encode('{"step":"a","answer":"x"}')]), /Unrecognized key/],
    [new Uint8Array(MAX_CLIENT_FRAME + 1).fill(ClientOp.INPUT), /larger than/],
  ];
  for (const [frame, reason] of cases) {
    assert.throws(() => decodeClient(frame), (error: unknown) => error instanceof ProtocolError && error.code === 'bad-frame' && reason.test(error.message), String(reason));
  }
});

test('the hello is validated and clamped', () => {
  const hello = decodeHello(encodeHello({ lesson: 'galera', terminal: 'node-1', cols: 5, rows: 1000 }));
  assert.deepEqual(hello, { type: 'hello', v: 1, lesson: 'galera', terminal: 'node-1', cols: TERMINAL_LIMITS.minCols, rows: TERMINAL_LIMITS.maxRows });
  assert.throws(() => decodeHello('not json'), /JSON hello/);
  assert.throws(() => decodeHello(JSON.stringify({ type: 'hello', v: 2, lesson: 'a', terminal: 'b', cols: 80, rows: 24 })), /v: Invalid literal/);
  assert.throws(() => decodeHello(JSON.stringify({ type: 'hello', v: 1, lesson: 'A/B', terminal: 'b', cols: 80, rows: 24 })), /lesson: must be lowercase/);
  assert.throws(() => decodeHello(JSON.stringify({ type: 'hello', v: 1, lesson: 'a', terminal: 'b', cols: 80.5, rows: 24 })), /cols/);
  assert.throws(() => decodeHello(JSON.stringify({ type: 'hello', v: 1, lesson: 'a', terminal: 'b', cols: 80, rows: 24, attendee: 'x' })), /Unrecognized key/);
});
