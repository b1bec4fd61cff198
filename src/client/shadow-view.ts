/**
 * The dashboard's shadowing window: one attendee's terminal, read-only, at their size (xterm.js
 * over /ws/shadow). "Ask to type" asks the attendee; the keyboard works only once they allowed it
 * on their page, and the window says which it is.
 */
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { decodeServer, encodeClient } from '../../protocol/messages.ts';
import type { KeyboardState, ShadowServerMessage } from '../../protocol/workshop.ts';

const KEYBOARD_WORDS: Record<KeyboardState, string> = {
  none: 'Watching (read-only).',
  requested: 'Asked to type: waiting for the attendee to allow it on their page.',
  allowed: 'The attendee allowed you to type: the keyboard is yours.',
};

export function openShadow(dialog: HTMLDialogElement, target: { event: string; attendee: string; name: string; lesson: string; terminal: string; node?: string }): void {
  const screen = dialog.querySelector<HTMLElement>('.shadow-screen')!;
  const status = dialog.querySelector<HTMLElement>('.shadow-status')!;
  const ask = dialog.querySelector<HTMLButtonElement>('.shadow-ask')!;
  dialog.querySelector('.shadow-name')!.textContent = `${target.name} — ${target.lesson} / ${target.terminal}`;
  screen.replaceChildren();
  const term = new Terminal({ disableStdin: true, cursorBlink: false, fontSize: 13, scrollback: 5000, fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace" });
  term.open(screen);
  let keyboard: KeyboardState = 'none';
  // `node`: the load balancer sends the socket to the node that holds the attendee's terminal.
  const query = new URLSearchParams({ event: target.event, attendee: target.attendee, lesson: target.lesson, terminal: target.terminal, ...(target.node ? { node: target.node } : {}) });
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/shadow?${query}`);
  ws.binaryType = 'arraybuffer';
  status.textContent = 'Connecting…';
  const showKeyboard = () => {
    status.textContent = KEYBOARD_WORDS[keyboard];
    term.options.disableStdin = keyboard !== 'allowed';
    ask.textContent = keyboard === 'none' ? 'Ask to type' : 'Stop typing';
    if (keyboard === 'allowed') term.focus();
  };
  ws.onopen = showKeyboard;
  ws.onmessage = (message) => {
    if (typeof message.data === 'string') {
      const control = JSON.parse(message.data) as ShadowServerMessage;
      if (control.type === 'size') term.resize(control.cols, control.rows);
      else if (control.type === 'keyboard') {
        keyboard = control.keyboard;
        showKeyboard();
      } else status.textContent = `Shadowing ended: ${control.reason}.`;
      return;
    }
    const frame = decodeServer(new Uint8Array(message.data as ArrayBuffer));
    if (frame.op === 'output') term.write(frame.data);
  };
  ws.onclose = () => {
    if (!status.textContent?.startsWith('Shadowing ended')) status.textContent = 'Shadowing ended.';
    ask.disabled = true;
  };
  const typed = term.onData((data) => {
    if (keyboard === 'allowed' && ws.readyState === WebSocket.OPEN) ws.send(encodeClient({ op: 'input', data: new TextEncoder().encode(data) }));
  });
  ask.disabled = false;
  ask.onclick = () => ws.send(JSON.stringify({ type: keyboard === 'none' ? 'request-keyboard' : 'release-keyboard' }));
  dialog.addEventListener(
    'close',
    () => {
      typed.dispose();
      ws.close();
      term.dispose();
    },
    { once: true },
  );
  dialog.showModal();
}
