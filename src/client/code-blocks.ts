/** Adds Copy to every code block and ▶ Run to blocks marked `run` and to solutions' blocks (typed into the terminal). */
export function enhanceCodeBlocks(root: HTMLElement, run: (command: string, terminal: string | undefined, inSolution: boolean) => boolean): void {
  for (const pre of root.querySelectorAll<HTMLPreElement>('pre')) {
    const code = () => (pre.querySelector('code')?.textContent ?? pre.textContent ?? '').replace(/\n+$/, '');
    const actions = document.createElement('div');
    actions.className = 'code-actions';
    // A solution's commands can be run like any other block's: into the terminal its block names,
    // else the lesson's first one (not the tab in view: a node's shell is no place for `vagrant up`).
    const inSolution = pre.closest('details.solution') !== null;
    if (pre.dataset.run !== undefined || inSolution) {
      const runButton = button('▶ Run', 'Type this into the terminal and run it');
      runButton.classList.add('run');
      runButton.addEventListener('click', () => flash(runButton, run(code(), pre.dataset.run || undefined, inSolution) ? 'Sent' : 'Not connected'));
      actions.append(runButton);
    }
    const copy = button('Copy', 'Copy to the clipboard');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(code());
        flash(copy, 'Copied');
      } catch {
        flash(copy, 'Select and copy');
      }
    });
    actions.append(copy);
    const wrapper = document.createElement('div');
    wrapper.className = 'code-block';
    pre.replaceWith(wrapper);
    wrapper.append(actions, pre);
  }
}

function button(label: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.title = title;
  b.dataset.label = label;
  return b;
}

function flash(b: HTMLButtonElement, text: string): void {
  b.textContent = text;
  setTimeout(() => (b.textContent = b.dataset.label ?? ''), 1200);
}
