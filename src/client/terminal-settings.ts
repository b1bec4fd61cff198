/**
 * Display settings shared by every terminal of the page and remembered per browser: the font size
 * (A−/A+ in the terminal bar, Ctrl − / Ctrl + in the terminal) and xterm.js's screen reader mode.
 */
import type { TerminalView } from './terminal-view.ts';

const FONT_SIZE = 'opslab-terminal-font-size';
const SCREEN_READER = 'opslab-terminal-screen-reader';
export const DEFAULT_FONT_SIZE = 14;
const MIN_FONT_SIZE = 9;
const MAX_FONT_SIZE = 28;
/** xterm.js's own scroll bar, which its fit addon leaves out of the columns (ViewportConstants). */
const SCROLL_BAR_WIDTH = 14;

/**
 * The options a terminal starts with, from what this browser saved: given to the constructor, as
 * setting them afterwards re-measures and redraws every terminal (25 ms on a slow machine's page load).
 */
export function savedTerminalOptions(): { fontSize: number; screenReaderMode: boolean; minimumContrastRatio: number } {
  const saved = Number(localStorage.getItem(FONT_SIZE));
  return {
    fontSize: saved >= MIN_FONT_SIZE && saved <= MAX_FONT_SIZE ? saved : DEFAULT_FONT_SIZE,
    screenReaderMode: localStorage.getItem(SCREEN_READER) === 'true',
    // Colours programs choose (a green prompt on the light background) are darkened or lightened
    // where needed to stay readable: WCAG AA's 4.5:1.
    minimumContrastRatio: 4.5,
  };
}

export class TerminalSettings {
  fontSize: number;
  screenReader: boolean;
  private readonly canvas = document.createElement('canvas').getContext('2d');

  constructor(
    private readonly views: readonly TerminalView[],
    /** Called after the font size changed and the terminals were refitted. */
    private readonly onFontSize: () => void,
  ) {
    // The terminals were created with savedTerminalOptions(): nothing to apply.
    const saved = savedTerminalOptions();
    this.fontSize = saved.fontSize;
    this.screenReader = saved.screenReaderMode;
  }

  /** One step larger (1), smaller (-1), or back to the default (0). */
  stepFontSize(step: 1 | -1 | 0): void {
    const size = step === 0 ? DEFAULT_FONT_SIZE : Math.min(MAX_FONT_SIZE, Math.max(MIN_FONT_SIZE, this.fontSize + step));
    if (size === this.fontSize) return;
    this.fontSize = size;
    localStorage.setItem(FONT_SIZE, String(size));
    for (const view of this.views) {
      view.term.options.fontSize = size;
      view.refit();
    }
    this.onFontSize();
  }

  setScreenReader(on: boolean): void {
    this.screenReader = on;
    localStorage.setItem(SCREEN_READER, String(on));
    for (const view of this.views) view.term.options.screenReaderMode = on;
  }

  /**
   * The width in CSS pixels a terminal section needs for `columns` columns: xterm.js's cell is the
   * width of a "W" in its font (its CharSizeService measures the same way), plus its scroll bar.
   */
  terminalWidth(columns: number): number {
    const term = this.views[0]?.term;
    if (!term || !this.canvas) return columns * this.fontSize * 0.6 + SCROLL_BAR_WIDTH;
    this.canvas.font = `${this.fontSize}px ${term.options.fontFamily}`;
    return Math.ceil(columns * this.canvas.measureText('W').width + SCROLL_BAR_WIDTH + 2);
  }
}
