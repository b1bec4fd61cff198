/**
 * The split between lesson text and terminals, on wide screens (narrow ones show one or the other:
 * view-switch.ts).
 *
 * - By default the terminal gets the columns the lesson's commands need (frontmatter `columns`, 80
 *   without it) where the window allows, the text keeping a readable width between MIN_TEXT and
 *   MAX_TEXT; it follows the window and the terminal's font size.
 * - Dragging the gutter, or ←/→/Home/End on it, sets a split that is remembered per lesson (lessons
 *   need different widths); Enter or a double click on the gutter goes back to the default.
 * - "Wide" gives the terminal all but a narrow column of text; remembered per browser.
 * The gutter is a focusable separator whose aria-valuenow is the text's share of the width in percent.
 */
const REMEMBERED = (lesson: string) => `opslab-split:${lesson}`;
const WIDE = 'opslab-terminal-wide';

/** In rem: text at most this narrow by default, this wide at most, and in the "Wide" layout. */
const MIN_TEXT = 22;
const MAX_TEXT = 46;
const WIDE_TEXT = 14;
/** In rem: what dragging leaves at least to either side. */
const MIN_DRAGGED_TEXT = 12;
const MIN_TERMINAL = 20;

export interface SplitOptions {
  lesson: string;
  /** The columns the lesson asks for. */
  columns: number;
  /** The width in CSS pixels the terminal section needs to show `columns` columns at the current font. */
  terminalWidth(columns: number): number;
  onResize(): void;
  /** "Wide" was switched on or off (also by dragging the gutter, which ends it). */
  onWide(wide: boolean): void;
}

export interface Split {
  /** Computes the split again (the font size changed). */
  update(): void;
  readonly wide: boolean;
  setWide(wide: boolean): void;
}

export function initSplit(page: HTMLElement, gutter: HTMLElement, options: SplitOptions): Split {
  const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const stored = Number(localStorage.getItem(REMEMBERED(options.lesson)));
  /** The text's share in percent, once the attendee has set one. */
  let remembered: number | undefined = stored > 0 && stored < 100 ? stored : undefined;
  let wide = localStorage.getItem(WIDE) === 'true';

  const gutterWidth = () => gutter.offsetWidth || 6;
  const draggedBounds = (width: number) => [MIN_DRAGGED_TEXT * rem(), Math.max(MIN_DRAGGED_TEXT * rem(), width - gutterWidth() - MIN_TERMINAL * rem())] as const;

  const textWidth = (width: number): number => {
    if (wide) return Math.min(WIDE_TEXT * rem(), width / 2);
    if (remembered !== undefined) {
      const [min, max] = draggedBounds(width);
      return clamp((remembered / 100) * width, min, max);
    }
    const wanted = width - gutterWidth() - options.terminalWidth(options.columns);
    // The readable minimum wins over the columns; the terminal keeps at least MIN_TERMINAL.
    return clamp(wanted, Math.min(MIN_TEXT * rem(), width / 2), Math.min(MAX_TEXT * rem(), width - gutterWidth() - MIN_TERMINAL * rem()));
  };

  let applied = -1;
  const update = () => {
    const width = page.clientWidth;
    if (width === 0) return;
    const text = Math.round(textWidth(width));
    gutter.setAttribute('aria-valuenow', String(Math.round((text / width) * 100)));
    if (text === applied) return;
    applied = text;
    page.style.setProperty('--text-width', `${text}px`);
    options.onResize();
  };

  const remember = (percent: number | undefined) => {
    remembered = percent;
    if (percent === undefined) localStorage.removeItem(REMEMBERED(options.lesson));
    else localStorage.setItem(REMEMBERED(options.lesson), percent.toFixed(1));
    if (wide) setWide(false);
    else update();
  };
  const setWide = (on: boolean) => {
    wide = on;
    localStorage.setItem(WIDE, String(on));
    options.onWide(on);
    update();
  };

  gutter.addEventListener('pointerdown', (down) => {
    gutter.setPointerCapture(down.pointerId);
    const move = (event: PointerEvent) => {
      const rect = page.getBoundingClientRect();
      const [min, max] = draggedBounds(rect.width);
      remember((clamp(event.clientX - rect.left, min, max) / rect.width) * 100);
    };
    const up = () => {
      gutter.removeEventListener('pointermove', move);
      gutter.removeEventListener('pointerup', up);
    };
    gutter.addEventListener('pointermove', move);
    gutter.addEventListener('pointerup', up);
  });
  gutter.addEventListener('dblclick', () => remember(undefined));
  gutter.addEventListener('keydown', (event) => {
    const width = page.clientWidth;
    const [min, max] = draggedBounds(width).map((px) => (px / width) * 100) as [number, number];
    const current = Number(gutter.getAttribute('aria-valuenow'));
    const next: Record<string, number | undefined> = { ArrowLeft: current - 5, ArrowRight: current + 5, Home: min, End: max };
    if (event.key === 'Enter') remember(undefined);
    else if (event.key in next) remember(clamp(next[event.key]!, min, max));
    else return;
    event.preventDefault();
  });

  new ResizeObserver(update).observe(page);
  options.onWide(wide);
  update();
  return {
    update,
    get wide() {
      return wide;
    },
    setWide,
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}
