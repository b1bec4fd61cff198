/**
 * Keys the page keeps for itself while a terminal has the keyboard, and the way out of it.
 *
 * A terminal takes every key, Tab and Esc included (the shell completes with Tab, vim leaves insert
 * mode with Esc), so the keyboard has no standard way out of it. The way out is F6 (and Shift+F6),
 * the browsers' key for moving between a window's panes: it moves between the lesson text and the
 * terminal, both ways, and back in the text the keyboard lands where it was (the Run button last
 * pressed). Esc stays the shell's: vim users press it twice and more out of habit.
 *
 * Ctrl + / Ctrl − / Ctrl 0 (⌘ on a Mac) change the terminals' font size instead of zooming the page.
 */
import type { TerminalView } from './terminal-view.ts';

/** The font size step a key asks for, if it is one of the page's zoom keys. */
export function fontSizeStep(event: KeyboardEvent): 1 | -1 | 0 | undefined {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return undefined;
  if (event.key === '+' || event.key === '=') return 1;
  // Ctrl+Shift+- (Ctrl+_) stays the shell's: readline's undo.
  if (event.key === '-' && !event.shiftKey) return -1;
  if (event.key === '0' && !event.shiftKey) return 0;
  return undefined;
}

export function isRegionKey(event: KeyboardEvent): boolean {
  return event.key === 'F6' && !event.ctrlKey && !event.altKey && !event.metaKey;
}

/**
 * Installs the terminal's custom key handler (xterm.js has one per terminal). Keys it returns false
 * for are not seen by xterm.js: they are neither sent to the shell nor cancelled, so F6 goes on to
 * the page's handler (initRegionKeys).
 */
export function attachTerminalKeys(view: TerminalView, stepFontSize: (step: 1 | -1 | 0) => void): void {
  view.term.attachCustomKeyEventHandler((event) => {
    if (isRegionKey(event)) return false;
    const step = fontSizeStep(event);
    if (step === undefined) return true;
    // Not the page's zoom as well (the browser zooms on keydown unless the page prevents it).
    event.preventDefault();
    if (event.type === 'keydown') stepFontSize(step);
    return false;
  });
}

export interface Regions {
  /** The terminals' part of the page: focus in it means "in the terminal". */
  terminals: HTMLElement;
  /** The lesson text: where the keyboard goes back to. */
  text: HTMLElement;
  /** Shows the visible terminal (on a phone, the terminal view) and puts the keyboard in it. */
  enterTerminal(): void;
  /** Shows the lesson text (on a phone, the text view). */
  showText(): void;
}

/** F6 / Shift+F6 anywhere on the page: between the lesson text and the terminal. */
export function initRegionKeys(regions: Regions): void {
  let lastInText: HTMLElement | undefined;
  regions.text.addEventListener('focusin', (event) => {
    if (event.target instanceof HTMLElement && event.target !== regions.text) lastInText = event.target;
  });
  document.addEventListener('keydown', (event) => {
    if (!isRegionKey(event)) return;
    event.preventDefault();
    if (!regions.terminals.contains(document.activeElement)) {
      regions.enterTerminal();
      return;
    }
    regions.showText();
    const target = lastInText?.isConnected && lastInText.getClientRects().length > 0 ? lastInText : regions.text;
    target.focus();
  });
}
