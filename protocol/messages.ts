/**
 * The Opslab wire protocol, shared by the browser (src/client) and the server (sandbox-server).
 *
 * The first frame from the client is a JSON text frame: the hello — or the hello is the upgrade's
 * `hello` query parameter (`/ws?hello=<the same JSON>`), which lets the server start the sandbox
 * before the page gets round to the open socket (src/client/early-connect.ts). Every later frame is binary:
 * one opcode byte followed by a payload. Terminal bytes travel raw (no base64, no JSON) because
 * they are the hot path; control messages carry small JSON payloads. The server validates what it
 * receives with zod (client-frames.ts), which the browser bundle never needs.
 *
 * Nothing here touches the network or the DOM, so it runs unchanged in both places.
 */
export const PROTOCOL_VERSION = 1;

/** Client → server opcodes. */
export const ClientOp = {
  INPUT: 0x01,
  RESIZE: 0x02,
  PAUSE: 0x03,
  RESUME: 0x04,
  CHECK: 0x05,
  SOLVE: 0x06,
} as const;

/** Server → client opcodes (high bit set, so a frame's direction is obvious in a capture). */
export const ServerOp = {
  OUTPUT: 0x81,
  EXIT: 0x82,
  CHECK_RESULT: 0x83,
  ERROR: 0x84,
  STATUS: 0x85,
  PROGRESS: 0x86,
} as const;

/** Terminal sizes outside these bounds are clamped, never rejected: a tiny or huge window is not an error. */
export const TERMINAL_LIMITS = { minCols: 10, maxCols: 500, minRows: 3, maxRows: 200 } as const;

/** Slugs and ids are used in paths on the server: keep them to a safe alphabet. */
export const idPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

export interface Hello {
  type: 'hello';
  v: typeof PROTOCOL_VERSION;
  lesson: string;
  terminal: string;
  cols: number;
  rows: number;
}

export interface CheckRequest {
  step: string;
  answer?: string;
}

export interface SolveRequest {
  step: string;
}

/** The sandbox's life as the attendee sees it. `connecting` exists only in the browser. */
export const sandboxStates = ['starting', 'restoring', 'ready', 'exited', 'error'] as const;
export type SandboxState = (typeof sandboxStates)[number];

export interface StatusPayload {
  state: SandboxState;
  /** What is happening now, in the attendee's words (a stage of the start, say). */
  message?: string;
  /**
   * While starting or restoring: how long this start has been going when the server sent it, so a
   * page that (re)connects mid-start counts on from the real beginning.
   */
  elapsedMs?: number;
  /** Where a start is when its stages are known: `done` (may be fractional) of `total`, for a progress bar. */
  progress?: { done: number; total: number };
  /** Steps whose solve.sh was replayed to re-create a sandbox (after a restart or idle reaping). */
  restoredSteps?: string[];
}

export type StepStatus = 'passed' | 'solved' | 'failed';

export interface StepProgress {
  status: StepStatus;
  attempts: number;
  /** ISO timestamps. */
  firstAttemptAt: string;
  passedAt?: string;
  feedback?: string;
}

export interface ProgressPayload {
  lesson: string;
  steps: Record<string, StepProgress>;
}

export interface CheckResultPayload {
  step: string;
  passed: boolean;
  /** true when the step was made to pass by "Solve it for me". */
  solved: boolean;
  feedback: string;
  durationMs: number;
  /** For "Solve it for me": what was run and what it printed, so the attendee can see what was done. */
  solve?: SolveTrace;
}

export interface SolveTrace {
  /** The step's solve.sh, as run. */
  script: string;
  /** Its output (clipped to its end when long). */
  output: string;
  ok: boolean;
}

export interface ExitPayload {
  code: number | null;
  signal: number | null;
}

export const errorCodes = [
  'bad-hello',
  'bad-frame',
  'unauthorized',
  'unknown-lesson',
  'unknown-terminal',
  'unknown-step',
  'busy',
  'capacity',
  'rate-limited',
  'sandbox-failed',
  'not-ready',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
}

export type ClientMessage =
  | { op: 'input'; data: Uint8Array }
  | { op: 'resize'; cols: number; rows: number }
  | { op: 'pause' }
  | { op: 'resume' }
  | { op: 'check'; request: CheckRequest }
  | { op: 'solve'; request: SolveRequest };

export type ServerMessage =
  | { op: 'output'; data: Uint8Array }
  | { op: 'exit'; payload: ExitPayload }
  | { op: 'check-result'; payload: CheckResultPayload }
  | { op: 'error'; payload: ErrorPayload }
  | { op: 'status'; payload: StatusPayload }
  | { op: 'progress'; payload: ProgressPayload };

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function frame(op: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = op;
  out.set(payload, 1);
  return out;
}

const json = (value: unknown) => encoder.encode(JSON.stringify(value));

export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ProtocolError('bad-frame', `${what}: payload is not valid UTF-8 JSON`);
  }
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

// ---------------------------------------------------------------- client side

export function encodeHello(hello: Omit<Hello, 'type' | 'v'>): string {
  return JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, ...hello });
}

export function encodeClient(message: ClientMessage): Uint8Array {
  switch (message.op) {
    case 'input':
      return frame(ClientOp.INPUT, message.data);
    case 'resize': {
      const payload = new Uint8Array(4);
      const view = new DataView(payload.buffer);
      view.setUint16(0, clamp(message.cols, 0, 0xffff));
      view.setUint16(2, clamp(message.rows, 0, 0xffff));
      return frame(ClientOp.RESIZE, payload);
    }
    case 'pause':
      return frame(ClientOp.PAUSE, new Uint8Array(0));
    case 'resume':
      return frame(ClientOp.RESUME, new Uint8Array(0));
    case 'check':
      return frame(ClientOp.CHECK, json(message.request));
    case 'solve':
      return frame(ClientOp.SOLVE, json(message.request));
  }
}

export function decodeServer(data: Uint8Array): ServerMessage {
  if (data.length === 0) throw new ProtocolError('bad-frame', 'empty frame');
  const payload = data.subarray(1);
  switch (data[0]) {
    case ServerOp.OUTPUT:
      return { op: 'output', data: payload };
    case ServerOp.EXIT:
      return { op: 'exit', payload: parseJson(payload, 'EXIT') as ExitPayload };
    case ServerOp.CHECK_RESULT:
      return { op: 'check-result', payload: parseJson(payload, 'CHECK_RESULT') as CheckResultPayload };
    case ServerOp.ERROR:
      return { op: 'error', payload: parseJson(payload, 'ERROR') as ErrorPayload };
    case ServerOp.STATUS:
      return { op: 'status', payload: parseJson(payload, 'STATUS') as StatusPayload };
    case ServerOp.PROGRESS:
      return { op: 'progress', payload: parseJson(payload, 'PROGRESS') as ProgressPayload };
    default:
      throw new ProtocolError('bad-frame', `unknown server opcode 0x${data[0]!.toString(16)}`);
  }
}

// ---------------------------------------------------------------- server side

/** Largest client frame accepted: input is typed or pasted, never megabytes at once. */
export const MAX_CLIENT_FRAME = 64 * 1024;

export function encodeServer(message: ServerMessage): Uint8Array {
  switch (message.op) {
    case 'output':
      return frame(ServerOp.OUTPUT, message.data);
    case 'exit':
      return frame(ServerOp.EXIT, json(message.payload));
    case 'check-result':
      return frame(ServerOp.CHECK_RESULT, json(message.payload));
    case 'error':
      return frame(ServerOp.ERROR, json(message.payload));
    case 'status':
      return frame(ServerOp.STATUS, json(message.payload));
    case 'progress':
      return frame(ServerOp.PROGRESS, json(message.payload));
  }
}

/** Flow control watermarks (bytes written to xterm but not yet rendered), after xterm.js's flow-control guide. */
export const FLOW = { highWatermark: 512 * 1024, lowWatermark: 64 * 1024 } as const;

/** Close code for policy violations (RFC 6455): used after repeated invalid frames. */
export const CLOSE_POLICY = 1008;
