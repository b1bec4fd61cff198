/**
 * The terminal tabs of a lesson with several terminals, as an ARIA tablist: each tab controls its
 * <opslab-terminal> tabpanel; one tab is in the Tab order (roving tabindex), ←/→ move between tabs
 * (wrapping), Home/End go to the first/last, and selection follows focus. A click (or Enter/Space)
 * on a tab shows its terminal and puts the keyboard in it.
 */
import type { TerminalView } from './terminal-view.ts';

export interface TerminalTabs {
  /** Shows terminal `id`; `focus` says what gets the keyboard: its tab, its terminal, or nothing new. */
  select(id: string, focus?: 'tab' | 'terminal' | 'none'): void;
}

export function initTabs(page: HTMLElement, views: readonly TerminalView[]): TerminalTabs {
  const tabs = [...page.querySelectorAll<HTMLButtonElement>('.terminal-tabs [role=tab]')];

  const select = (id: string, focus: 'tab' | 'terminal' | 'none' = 'none') => {
    for (const tab of tabs) {
      const selected = tab.dataset.terminal === id;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected && focus === 'tab') tab.focus();
    }
    for (const view of views) view.element.hidden = view.id !== id;
    const view = views.find((v) => v.id === id);
    view?.refit();
    if (focus === 'terminal') view?.term.focus();
  };

  for (const [index, tab] of tabs.entries()) {
    tab.addEventListener('click', () => select(tab.dataset.terminal!, 'terminal'));
    tab.addEventListener('keydown', (event) => {
      const target = ({ ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: tabs.length - 1 } as Record<string, number>)[event.key];
      if (target === undefined || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      select(tabs[(target + tabs.length) % tabs.length]!.dataset.terminal!, 'tab');
    });
  }
  return { select };
}
