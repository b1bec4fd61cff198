/**
 * The on-screen key row under a terminal, for touch screens whose keyboards have no Ctrl, Esc, Tab
 * or arrows (xterm.js has no touch keyboard of its own). Keys go through the terminal's own input
 * path (`term.input`, which fires onData as typing does). Ctrl is sticky: it applies to the next key,
 * from the row or from the keyboard, then lets go; pressed again, it lets go at once.
 */
import type { TerminalView } from './terminal-view.ts';

const arrows: Record<string, string> = { up: 'A', down: 'B', right: 'C', left: 'D' };

/** What a key of the row sends, given whether Ctrl is held and the terminal's cursor key mode. */
export function keyBytes(key: string, ctrl: boolean, applicationCursor: boolean): string | undefined {
  if (key === 'esc') return '\x1b';
  if (key === 'tab') return '\t';
  const arrow = arrows[key];
  if (!arrow) return undefined;
  if (ctrl) return `\x1b[1;5${arrow}`;
  return applicationCursor ? `\x1bO${arrow}` : `\x1b[${arrow}`;
}

/** Ctrl with one typed character, as a terminal keyboard sends it (Ctrl-C is 0x03); other input unchanged. */
export function withCtrl(data: string): string {
  if (data.length !== 1) return data;
  if (data === ' ') return '\x00';
  if (data === '?') return '\x7f';
  const code = data.toUpperCase().charCodeAt(0);
  return code >= 0x40 && code <= 0x5f ? String.fromCharCode(code - 0x40) : data;
}

export function initKeyBar(view: TerminalView): void {
  const row = view.element.querySelector<HTMLElement>('.key-row');
  if (!row) return;
  const ctrlButton = row.querySelector<HTMLButtonElement>('[data-key=ctrl]')!;

  const setCtrl = (on: boolean) => {
    ctrlButton.setAttribute('aria-pressed', String(on));
    view.inputFilter = on
      ? (data) => {
          setCtrl(false);
          return withCtrl(data);
        }
      : undefined;
  };

  // A tap must not take the focus from the terminal: that would close the phone's keyboard.
  row.addEventListener('mousedown', (event) => {
    if ((event.target as Element).closest('button')) event.preventDefault();
  });
  row.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-key]');
    if (!button) return;
    const key = button.dataset.key!;
    if (key === 'ctrl') {
      const on = ctrlButton.getAttribute('aria-pressed') !== 'true';
      setCtrl(on);
      // The next key is typed on the phone's keyboard, which opens when the terminal has the focus.
      if (on) view.term.focus();
      return;
    }
    const ctrl = ctrlButton.getAttribute('aria-pressed') === 'true';
    setCtrl(false);
    const bytes = keyBytes(key, ctrl, view.term.modes.applicationCursorKeysMode);
    if (bytes) view.term.input(bytes);
  });
}
