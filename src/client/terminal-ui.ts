/**
 * Everything around the lesson page's terminals that is not the terminal itself: tabs, the split and
 * "Wide", font size and screen reader mode, the keys that leave the terminal, the phone's text /
 * terminal switch and key row, the skip link. Each piece lives in its own module; this wires them.
 */
import { initKeyBar } from './key-bar.ts';
import { initSplit } from './split.ts';
import { initTabs } from './tabs.ts';
import { attachTerminalKeys, initRegionKeys } from './terminal-keys.ts';
import { TerminalSettings } from './terminal-settings.ts';
import type { TerminalView } from './terminal-view.ts';
import { initViewSwitch } from './view-switch.ts';

export interface TerminalUi {
  /** Makes terminal `id` the one on screen (its tab; on a phone, the terminal view), e.g. before a Run. */
  reveal(id: string): void;
}

export function initTerminalUi(page: HTMLElement, views: readonly TerminalView[]): TerminalUi {
  const text = page.querySelector<HTMLElement>('.lesson-text')!;
  const terminals = page.querySelector<HTMLElement>('.terminals')!;
  const refitAll = () => views.forEach((view) => view.refit());
  const visibleView = () => views.find((view) => !view.element.hidden) ?? views[0];

  // The terminal bars' buttons; every terminal has a copy, kept in step.
  const tools = (name: string) => [...page.querySelectorAll<HTMLButtonElement>(`[data-tool="${name}"]`)];
  const pressed = (name: string, on: boolean) => tools(name).forEach((button) => button.setAttribute('aria-pressed', String(on)));

  const viewSwitch = initViewSwitch(page, refitAll);
  const tabs = initTabs(page, views);
  const settings = new TerminalSettings(views, () => split.update());
  const split = initSplit(page, page.querySelector<HTMLElement>('.gutter')!, {
    lesson: page.dataset.lesson!,
    columns: Number(page.dataset.columns) || 80,
    terminalWidth: (columns) => settings.terminalWidth(columns),
    onResize: refitAll,
    onWide: (on) => pressed('wide', on),
  });

  const enterTerminal = () => {
    viewSwitch.show('terminal');
    const view = visibleView();
    view?.refit();
    view?.term.focus();
  };

  const onTool = (name: string, action: () => void) => tools(name).forEach((button) => button.addEventListener('click', action));
  onTool('font-smaller', () => settings.stepFontSize(-1));
  onTool('font-larger', () => settings.stepFontSize(1));
  onTool('wide', () => split.setWide(!split.wide));
  onTool('screen-reader', () => {
    settings.setScreenReader(!settings.screenReader);
    pressed('screen-reader', settings.screenReader);
  });
  pressed('screen-reader', settings.screenReader);

  for (const view of views) {
    attachTerminalKeys(view, (step) => settings.stepFontSize(step));
    // Screen readers say how to leave when the terminal gets the keyboard.
    view.term.textarea?.setAttribute('aria-describedby', `hint-${view.id}`);
    initKeyBar(view);
    // The terminal's size, for whoever wants to know how many columns the attendee has.
    const showSize = () => Object.assign(view.element.dataset, { cols: String(view.term.cols), rows: String(view.term.rows) });
    view.term.onResize(showSize);
    showSize();
  }
  initRegionKeys({ terminals, text, enterTerminal, showText: () => viewSwitch.show('text') });

  document.querySelector('.skip-link')?.addEventListener('click', (event) => {
    event.preventDefault();
    enterTerminal();
  });

  page.dataset.ui = 'ready';
  return {
    reveal(id) {
      viewSwitch.show('terminal');
      if (views.find((view) => view.id === id)?.element.hidden) tabs.select(id);
    },
  };
}
