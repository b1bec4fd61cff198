/**
 * Narrow screens (phones; tablets held upright) show the lesson text or the terminal, each on the
 * whole screen, switched by the two buttons at the top; a Run shows the terminal. Wide screens show
 * both side by side and ignore the switch. The page's height follows the visual viewport, so the
 * terminal and its key row stay above a phone's on-screen keyboard.
 */
export type PageView = 'text' | 'terminal';

/** Where the layout switches; the same width as the stylesheet's media queries. */
export const NARROW = '(max-width: 900px)';

export interface ViewSwitch {
  show(view: PageView): void;
  readonly narrow: boolean;
}

export function initViewSwitch(page: HTMLElement, onShow: (view: PageView) => void): ViewSwitch {
  const text = page.querySelector<HTMLElement>('.lesson-text')!;
  const buttons = [...page.querySelectorAll<HTMLButtonElement>('.view-switch button[data-view]')];
  const narrow = matchMedia(NARROW);
  // A pane with display: none forgets how far it was scrolled.
  let textScroll = 0;

  const show = (view: PageView) => {
    if (page.dataset.view === view) return;
    if (view === 'terminal') textScroll = text.scrollTop;
    page.dataset.view = view;
    for (const button of buttons) button.setAttribute('aria-pressed', String(button.dataset.view === view));
    if (view === 'text') text.scrollTop = textScroll;
    onShow(view);
  };
  for (const button of buttons) button.addEventListener('click', () => show(button.dataset.view as PageView));

  const viewport = window.visualViewport;
  if (viewport) {
    // The keyboard shrinks the visual viewport; pinch zoom shrinks it too, but by its scale.
    const follow = () => document.documentElement.style.setProperty('--viewport-height', `${viewport.height * viewport.scale}px`);
    viewport.addEventListener('resize', follow);
    follow();
  }
  return {
    show,
    get narrow() {
      return narrow.matches;
    },
  };
}
