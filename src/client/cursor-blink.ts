/**
 * The terminal's cursor blinks while the attendee pauses and stays solid while they type, as
 * terminals and editors do; steady for those who ask the system for reduced motion.
 *
 * Not xterm.js's own blink: its DOM renderer blinks with an endless CSS animation, and while an
 * animation runs chromium paints on the animation's clock, so every echo waited for the next
 * frame before its glyph showed (keystroke → glyph 27.2 → 5.3 ms p50, docs/decisions.md §24).
 * Here the blink is a class toggled twice a second, a discrete change the page paints once;
 * xterm.js draws a steady cursor (`cursorBlink: false`), which the class hides. (global.css also
 * stops the animation a program may ask xterm.js for.)
 */
import type { Terminal } from '@xterm/xterm';

/** Half a blink: shown this long, hidden this long (xterm.js's own blink is 1 s a cycle). */
const BLINK_MS = 500;
/** The class that hides the cursor (global.css). */
const CURSOR_OFF_CLASS = 'cursor-off';

export class CursorBlink {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposers: Array<() => void> = [];
  private readonly reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

  constructor(
    private readonly element: HTMLElement,
    private readonly term: Terminal,
  ) {
    // Typing, and anything the shell prints, is rendered: solid again, blinking after a pause. (At
    // the render, not when the echo arrives: however late a busy page renders it, the glyph's frame
    // shows the cursor.)
    const rendered = term.onRender(() => this.restart());
    const focused = term.textarea;
    const restart = () => this.restart();
    focused?.addEventListener('focus', restart);
    focused?.addEventListener('blur', restart);
    document.addEventListener('visibilitychange', restart);
    this.reducedMotion.addEventListener('change', restart);
    this.disposers.push(
      () => rendered.dispose(),
      () => focused?.removeEventListener('focus', restart),
      () => focused?.removeEventListener('blur', restart),
      () => document.removeEventListener('visibilitychange', restart),
      () => this.reducedMotion.removeEventListener('change', restart),
    );
  }

  /** Shows the cursor and blinks from a pause on, while the terminal has the keyboard and the page is seen. */
  private restart(): void {
    clearTimeout(this.timer);
    this.element.classList.remove(CURSOR_OFF_CLASS);
    if (this.blinks()) this.timer = setTimeout(() => this.toggle(), BLINK_MS);
  }

  private toggle(): void {
    if (!this.blinks()) return this.restart();
    this.element.classList.toggle(CURSOR_OFF_CLASS);
    this.timer = setTimeout(() => this.toggle(), BLINK_MS);
  }

  /**
   * Only where the keys go: an unfocused terminal, or one in a window that lost the focus, shows its
   * cursor as a steady outline (xterm.js's inactive style), which has nothing to blink.
   */
  private blinks(): boolean {
    return document.activeElement === this.term.textarea && document.hasFocus() && !document.hidden && !this.reducedMotion.matches;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const dispose of this.disposers.splice(0)) dispose();
  }
}
