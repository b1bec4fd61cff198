/**
 * Property tests for the client-frame decoder: whatever bytes arrive, it either returns a valid
 * message or throws ProtocolError with a reason — never another exception, never an id that
 * breaks the id rules, never a size outside TERMINAL_LIMITS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeClient, decodeHello } from './client-frames.ts';
import { ClientOp, idPattern, ProtocolError, TERMINAL_LIMITS, type ClientMessage } from './messages.ts';

const RUNS = 5000;

/** Runs `decode`; a ProtocolError is a correct answer, anything else thrown fails the property. */
function decodeOrRefuse<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    assert.ok(error.message.length > 0, 'a refusal says why');
    return undefined;
  }
}

function assertValid(message: ClientMessage): void {
  if (message.op === 'resize') {
    assert.ok(message.cols >= TERMINAL_LIMITS.minCols && message.cols <= TERMINAL_LIMITS.maxCols);
    assert.ok(message.rows >= TERMINAL_LIMITS.minRows && message.rows <= TERMINAL_LIMITS.maxRows);
  }
  if (message.op === 'check' || message.op === 'solve') assert.match(message.request.step, idPattern);
}

const opcode = fc.oneof(fc.constantFrom(...Object.values(ClientOp)), fc.integer({ min: 0, max: 255 }));
const jsonish = fc.oneof(
  fc.json(),
  fc.record({ step: fc.oneof(fc.string(), fc.constantFrom('../x', 'a/b', 'ok-step', '', 'A')), answer: fc.option(fc.string({ maxLength: 5000 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
);

test('decodeClient: random bytes after any opcode', () => {
  fc.assert(
    fc.property(opcode, fc.uint8Array({ maxLength: 300 }), (op, payload) => {
      const message = decodeOrRefuse(() => decodeClient(Uint8Array.from([op, ...payload])));
      if (message) assertValid(message);
    }),
    { numRuns: RUNS },
  );
});

test('decodeClient: JSON-shaped CHECK and SOLVE payloads', () => {
  fc.assert(
    fc.property(fc.constantFrom(ClientOp.CHECK, ClientOp.SOLVE), jsonish, (op, text) => {
      const message = decodeOrRefuse(() => decodeClient(Uint8Array.from([op, ...new TextEncoder().encode(text)])));
      if (message) assertValid(message);
    }),
    { numRuns: RUNS },
  );
});

test('decodeHello: arbitrary text and hello-shaped objects', () => {
  const helloish = fc
    .record(
      {
        type: fc.oneof(fc.constant('hello'), fc.string()),
        v: fc.oneof(fc.constant(1), fc.integer(), fc.string()),
        lesson: fc.oneof(fc.constantFrom('getting-started', '../etc', 'a/b', ''), fc.string()),
        terminal: fc.oneof(fc.constant('main'), fc.string()),
        cols: fc.oneof(fc.integer(), fc.double(), fc.string()),
        rows: fc.oneof(fc.integer(), fc.double(), fc.string()),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), helloish), (text) => {
      const hello = decodeOrRefuse(() => decodeHello(text));
      if (!hello) return;
      assert.match(hello.lesson, idPattern);
      assert.match(hello.terminal, idPattern);
      assert.ok(hello.cols >= TERMINAL_LIMITS.minCols && hello.cols <= TERMINAL_LIMITS.maxCols);
      assert.ok(hello.rows >= TERMINAL_LIMITS.minRows && hello.rows <= TERMINAL_LIMITS.maxRows);
    }),
    { numRuns: RUNS },
  );
});
