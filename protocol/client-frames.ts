/**
 * Server-side validation of what clients send: the hello and every binary frame. Kept apart from
 * messages.ts so that the browser bundle does not carry zod.
 */
import { z } from 'zod';
import {
  ClientOp,
  clamp,
  idPattern,
  MAX_CLIENT_FRAME,
  parseJson,
  PROTOCOL_VERSION,
  ProtocolError,
  TERMINAL_LIMITS,
  type ClientMessage,
  type Hello,
} from './messages.ts';

const id = z.string().regex(idPattern, 'must be lowercase letters, digits and dashes (max 64)');

export const helloSchema = z
  .object({
    type: z.literal('hello'),
    v: z.literal(PROTOCOL_VERSION),
    lesson: id,
    terminal: id,
    cols: z.number().int(),
    rows: z.number().int(),
  })
  .strict();

export const checkRequestSchema = z
  .object({ step: id, answer: z.string().max(4096).optional() })
  .strict();

export const solveRequestSchema = z.object({ step: id }).strict();

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Parses and validates the hello; sizes are clamped to TERMINAL_LIMITS. */
export function decodeHello(text: string): Hello {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad-hello', 'the first frame must be a JSON hello');
  }
  const parsed = helloSchema.safeParse(value);
  if (!parsed.success) throw new ProtocolError('bad-hello', `invalid hello: ${describe(parsed.error)}`);
  const hello = parsed.data;
  return {
    ...hello,
    cols: clamp(hello.cols, TERMINAL_LIMITS.minCols, TERMINAL_LIMITS.maxCols),
    rows: clamp(hello.rows, TERMINAL_LIMITS.minRows, TERMINAL_LIMITS.maxRows),
  };
}

export function decodeClient(data: Uint8Array): ClientMessage {
  if (data.length === 0) throw new ProtocolError('bad-frame', 'empty frame');
  if (data.length > MAX_CLIENT_FRAME) throw new ProtocolError('bad-frame', `frame larger than ${MAX_CLIENT_FRAME} bytes`);
  const payload = data.subarray(1);
  switch (data[0]) {
    case ClientOp.INPUT:
      return { op: 'input', data: payload };
    case ClientOp.RESIZE: {
      if (payload.length !== 4) throw new ProtocolError('bad-frame', 'RESIZE needs exactly 4 bytes: cols, rows (uint16 BE)');
      const view = new DataView(payload.buffer, payload.byteOffset, 4);
      return {
        op: 'resize',
        cols: clamp(view.getUint16(0), TERMINAL_LIMITS.minCols, TERMINAL_LIMITS.maxCols),
        rows: clamp(view.getUint16(2), TERMINAL_LIMITS.minRows, TERMINAL_LIMITS.maxRows),
      };
    }
    case ClientOp.PAUSE:
    case ClientOp.RESUME:
      if (payload.length !== 0) throw new ProtocolError('bad-frame', 'PAUSE/RESUME carry no payload');
      return { op: data[0] === ClientOp.PAUSE ? 'pause' : 'resume' };
    case ClientOp.CHECK:
    case ClientOp.SOLVE: {
      const check = data[0] === ClientOp.CHECK;
      const schema = check ? checkRequestSchema : solveRequestSchema;
      const parsed = schema.safeParse(parseJson(payload, check ? 'CHECK' : 'SOLVE'));
      if (!parsed.success) throw new ProtocolError('bad-frame', `${check ? 'CHECK' : 'SOLVE'}: ${describe(parsed.error)}`);
      return check ? { op: 'check', request: parsed.data } : { op: 'solve', request: parsed.data };
    }
    default:
      throw new ProtocolError('bad-frame', `unknown opcode 0x${data[0]!.toString(16).padStart(2, '0')}`);
  }
}

