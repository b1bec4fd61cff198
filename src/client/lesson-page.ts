/**
 * The lesson page: terminals (tabs when there are several), steps, code-block buttons, the split,
 * and the notice that tells the attendee when their sandbox was re-created.
 */
import type { StatusPayload } from '../../protocol/messages.ts';
import { enhanceCodeBlocks } from './code-blocks.ts';
import { fetchProgress } from './progress-api.ts';
import { rerunSetup, resetLesson, stopSandbox } from './sandboxes-panel.ts';
import { initSandboxesPanel } from './sandboxes-panel.ts';
import { StepsUi } from './steps.ts';
import { initTerminalUi } from './terminal-ui.ts';
import { TerminalView } from './terminal-view.ts';

export function initLessonPage(): void {
  const page = document.querySelector<HTMLElement>('main.lesson-page')!;
  const text = page.querySelector<HTMLElement>('.lesson-text')!;
  const notice = page.querySelector<HTMLElement>('.notice')!;
  const views: TerminalView[] = [];
  /** Checks go through the first terminal's connection: they concern the sandbox, not a shell. */
  const primary = () => views[0]!;

  const steps = new StepsUi(text, {
    check: (step, answer) => primary().connection.send({ op: 'check', request: { step, ...(answer !== undefined ? { answer } : {}) } }),
    solve: (step) => primary().connection.send({ op: 'solve', request: { step } }),
  });

  // Stopping another of the attendee's sandboxes while this page is refused makes room: try at once.
  const sandboxes = initSandboxesPanel({
    lesson: page.dataset.lesson,
    roomMade: () => views.forEach((view) => view.state !== 'ready' && view.connection.connect()),
  });

  // "Reset lesson": asks first; then a fresh sandbox with nothing replayed, the steps unchecked.
  page.querySelector<HTMLButtonElement>('.reset-lesson')?.addEventListener('click', (event) => {
    const button = event.currentTarget as HTMLButtonElement;
    if (!confirm('Start this lesson over? Your sandbox is replaced by a fresh one and the steps you completed here are unchecked.')) return;
    button.disabled = true;
    resetLesson(page.dataset.lesson!)
      .then(() => location.reload())
      .catch((error: Error) => {
        showNotice({ state: 'error', message: `The lesson could not be reset: ${error.message}` });
        button.disabled = false;
      });
  });

  // The author's tools (rendered under npm run dev only): what they did shows in the notice.
  page.querySelector<HTMLButtonElement>('.rerun-setup')?.addEventListener('click', (event) => {
    const button = event.currentTarget as HTMLButtonElement;
    button.disabled = true;
    showNotice({ state: 'restoring', message: 'Running setup.sh again in your sandbox…' });
    rerunSetup(page.dataset.lesson!)
      .then((setup) => showNotice({ state: setup.ok ? 'restoring' : 'error', message: setup.ok ? `setup.sh ran again.${setup.output ? ` It printed: ${setup.output}` : ''}` : `setup.sh failed: ${setup.output}` }))
      .catch((error: Error) => showNotice({ state: 'error', message: `setup.sh could not run: ${error.message}` }))
      .finally(() => (button.disabled = false));
  });
  page.querySelector<HTMLButtonElement>('.restart-sandbox')?.addEventListener('click', () => {
    stopSandbox(page.dataset.lesson!)
      .then(() => location.reload())
      .catch((error: Error) => showNotice({ state: 'error', message: `The sandbox could not be restarted: ${error.message}` }));
  });

  const showNotice = (status: StatusPayload) => {
    if (status.state === 'restoring' || (status.state === 'ready' && status.restoredSteps?.length) || status.state === 'error') {
      notice.textContent = status.message ?? '';
      notice.dataset.kind = status.state;
      notice.hidden = !status.message;
    } else if (status.state === 'ready' && notice.dataset.kind !== 'ready') {
      notice.hidden = true;
    }
  };

  for (const element of page.querySelectorAll<HTMLElement>('opslab-terminal')) {
    views.push(
      new TerminalView(element, {
        status: (view, payload) => {
          if (view === primary()) showNotice(payload);
          // The title belongs to the shell that set it: a new start has none yet.
          if (payload.state !== 'ready') showTitle(view.id, '');
          if (view === primary() && payload.state === 'ready') sandboxes?.roomFound();
        },
        title: (view, title) => showTitle(view.id, title),
        progress: (payload) => steps.showProgress(payload),
        checkResult: (payload) => steps.showResult(payload),
        error: (view, payload) => {
          // A full workshop concerns the whole page, not a step: say it where it is seen first.
          if (payload.code === 'capacity' && view === primary()) {
            showNotice({ state: 'error', message: payload.message });
            void sandboxes?.offerRoom();
          } else if (view === primary()) steps.showError(payload.message); // checks go through the first terminal only
        },
      }),
    );
  }

  /** A terminal's title (set by its shell, e.g. a node's state) shows on its tab. */
  const showTitle = (id: string, title: string) => {
    const tab = page.querySelector<HTMLElement>(`.terminal-tabs [role=tab][data-terminal="${CSS.escape(id)}"]`);
    if (!tab) return;
    let badge = tab.querySelector<HTMLElement>('.tab-state');
    if (!title) return badge?.remove(); // no title, no trace of one in the tab's name or text
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'tab-state';
      tab.append(badge);
    }
    // In the tab's name too, as "mariadb-02 · up" (a screen reader reads what is shown).
    badge.textContent = ` · ${title}`;
  };

  // Tabs, split, font size, the keys that leave the terminal, the phone's views and key row.
  const ui = initTerminalUi(page, views);
  enhanceCodeBlocks(text, (command, terminal, inSolution) => {
    const view = (terminal && views.find((v) => v.id === terminal)) || (inSolution ? primary() : visibleView() || primary());
    ui.reveal(view.id);
    return view.run(command);
  });

  const visibleView = () => views.find((v) => !v.element.hidden);

  // <Terminal id="…"> links in the text: show that terminal and put the keyboard in it.
  text.addEventListener('click', (event) => {
    const link = (event.target as Element).closest<HTMLAnchorElement>('a[data-terminal-link]');
    const view = link && views.find((v) => v.id === link.dataset.terminalLink);
    if (!view) return;
    event.preventDefault();
    ui.reveal(view.id);
    view.term.focus();
  });

  // The terminals take the sockets the page opened early, beside this call (connection.ts).
  views.forEach((view) => view.start());
  const lesson = page.dataset.lesson!;
  fetchProgress()
    .then((lessons) => {
      const summary = lessons[lesson];
      if (summary) steps.showProgress({ lesson, steps: summary.steps });
    })
    .catch(() => undefined);
  window.addEventListener('pagehide', () => views.forEach((view) => view.dispose()));
}
