/**
 * Shadowing: an instructor's socket on one attendee's terminal (/ws/shadow). It gets the
 * attendee's size, their recent scrollback and then the live output; it may type only while the
 * attendee has allowed it on their own page (workshop.ts answerKeyboard) — never by asking alone.
 * The attendee sees the shadowing on their page the whole time and can end it.
 */
import type { RawData, WebSocket } from 'ws';
import { decodeClient } from '../../protocol/client-frames.ts';
import { CLOSE_POLICY, encodeServer, idPattern } from '../../protocol/messages.ts';
import type { KeyboardState, ShadowClientMessage, ShadowServerMessage, ShadowState } from '../../protocol/workshop.ts';
import { log } from './log.ts';
import type { SessionManager } from './sessions.ts';
import type { Shadow, Workshop } from './workshop.ts';

export const SHADOW_PATH = '/ws/shadow';

/** A watcher this far behind is dropped: the attendee's terminal never waits for an instructor's network. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface ShadowTarget {
  event: string;
  attendee: string;
  lesson: string;
  terminal: string;
}

/** The target from the upgrade's query, or what is wrong with it. */
export function shadowTarget(params: URLSearchParams): ShadowTarget | string {
  const target = { event: params.get('event') ?? '', attendee: params.get('attendee') ?? '', lesson: params.get('lesson') ?? '', terminal: params.get('terminal') ?? '' };
  if (!/^[0-9a-f]{12}$/.test(target.event)) return 'event: missing or malformed';
  if (!/^[A-Za-z0-9_-]{22}$/.test(target.attendee)) return 'attendee: missing or malformed';
  if (!idPattern.test(target.lesson)) return 'lesson: missing or malformed';
  if (!idPattern.test(target.terminal)) return 'terminal: missing or malformed';
  return target;
}

export async function handleShadow(ws: WebSocket, target: ShadowTarget, sessions: SessionManager, workshop: Workshop): Promise<void> {
  const sendControl = (message: ShadowServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const terminal = sessions.existing(target.attendee, target.lesson)?.openTerminal(target.terminal);
  if (!terminal) {
    sendControl({ type: 'ended', reason: `this attendee has no "${target.terminal}" terminal open in ${target.lesson} right now` });
    return void ws.close(1000, 'no terminal');
  }

  let stopWatching = () => undefined as unknown;
  let ended = false;
  const state: ShadowState = { lesson: target.lesson, terminal: target.terminal, keyboard: 'none' };
  const shadow: Shadow = {
    state,
    setKeyboard(keyboard: KeyboardState) {
      state.keyboard = keyboard;
      sendControl({ type: 'keyboard', keyboard });
    },
    end(reason: string) {
      if (ended) return;
      ended = true;
      stopWatching();
      sendControl({ type: 'ended', reason });
      ws.close(1000, 'shadowing ended');
      workshop.shadowEnded(target.attendee, shadow).catch((error) => log.error({ err: error }, 'ending a shadowing record failed'));
    },
  };
  // Before the store is asked: an instructor who closes at once is heard.
  ws.on('close', () => shadow.end('the instructor closed it'));
  ws.on('error', (error) => log.warn({ err: error }, 'shadowing socket error'));
  try {
    await workshop.shadowStarted(target.event, target.attendee, shadow);
  } catch (error) {
    ended = true;
    sendControl({ type: 'ended', reason: (error as Error).message });
    return void ws.close(CLOSE_POLICY, 'refused');
  }
  // Closed while its record was being made: the record is ended now that it exists.
  if (ended) return void (await workshop.shadowEnded(target.attendee, shadow));
  stopWatching = terminal.watch({
    output(data) {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) return shadow.end('your connection fell too far behind: open the terminal again');
      if (ws.readyState === ws.OPEN) ws.send(encodeServer({ op: 'output', data }));
    },
    exit() {
      shadow.end('the shell exited');
    },
    resized(cols, rows) {
      sendControl({ type: 'size', cols, rows });
    },
  });

  ws.on('message', (data: RawData, isBinary) => {
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data;
      if (!isBinary) {
        const message = JSON.parse(bytes.toString('utf8')) as ShadowClientMessage;
        if (message.type === 'request-keyboard' && state.keyboard === 'none') state.keyboard = 'requested';
        else if (message.type === 'release-keyboard') state.keyboard = 'none';
        else return;
        sendControl({ type: 'keyboard', keyboard: state.keyboard });
        return void workshop.shadowChanged(target.attendee).catch((error) => log.error({ err: error }, 'telling the attendee failed'));
      }
      const message = decodeClient(new Uint8Array(bytes));
      // Keys count only with the attendee's yes; without it they are dropped, and the page says why.
      if (message.op === 'input' && state.keyboard === 'allowed') terminal.write(message.data);
    } catch (error) {
      log.debug({ err: error }, 'a shadowing frame was refused');
    }
  });
}
