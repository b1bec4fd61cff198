/**
 * Steps on the lesson page: the Check form (with an answer field where the step asks for one),
 * "Solve it for me", the step list, and ✓/✗ states from the server's PROGRESS and CHECK_RESULT.
 */
import type { CheckResultPayload, ProgressPayload, SolveTrace, StepProgress } from '../../protocol/messages.ts';

export type StepState = 'todo' | 'failed' | 'passed' | 'solved' | 'checking';

export interface StepActions {
  check(step: string, answer: string | undefined): boolean;
  solve(step: string): boolean;
}

function stateOf(progress: StepProgress | undefined): StepState {
  return progress?.status ?? 'todo';
}

export class StepsUi {
  private readonly sections = new Map<string, HTMLElement>();

  constructor(
    private readonly root: HTMLElement,
    private readonly actions: StepActions,
  ) {
    for (const section of root.querySelectorAll<HTMLElement>('section.step')) {
      const id = section.dataset.step!;
      this.sections.set(id, section);
      const form = section.querySelector<HTMLFormElement>('form.step-check')!;
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        // A quiz's answer is its chosen options' indexes ("0,2"); other steps may have a text field.
        const options = [...form.querySelectorAll<HTMLInputElement>('input[name=option]')];
        const answer = options.length > 0 ? options.filter((o) => o.checked).map((o) => o.value).join(',') : form.querySelector<HTMLInputElement>('input[name=answer]')?.value;
        this.busy(id, 'Checking…', this.actions.check(id, answer));
      });
      section.querySelector('.solve-button')?.addEventListener('click', () => this.busy(id, 'Solving…', this.actions.solve(id)));
    }
  }

  private busy(id: string, label: string, sent: boolean): void {
    const section = this.sections.get(id)!;
    const output = section.querySelector('output.feedback')!;
    if (!sent) {
      output.textContent = 'Not connected to your sandbox yet: wait until the terminal says "ready".';
      return;
    }
    section.dataset.busy = 'true';
    section.querySelector<HTMLButtonElement>('.check-button')!.disabled = true;
    output.textContent = label;
    output.className = 'feedback';
    // A solve can take minutes (a cluster coming up): the wait counts its seconds (shown, not
    // announced: the live region would read every tick).
    const elapsed = document.createElement('span');
    elapsed.className = 'busy-elapsed';
    elapsed.setAttribute('aria-hidden', 'true');
    output.append(' ', elapsed);
    const began = performance.now();
    clearInterval(this.tickers.get(id));
    this.tickers.set(
      id,
      setInterval(() => {
        if (section.dataset.busy !== 'true' || !elapsed.isConnected) return clearInterval(this.tickers.get(id));
        elapsed.textContent = `${Math.floor((performance.now() - began) / 1000)} s`;
      }, 1000),
    );
  }

  private readonly tickers = new Map<string, ReturnType<typeof setInterval>>();

  showResult(result: CheckResultPayload): void {
    const section = this.sections.get(result.step);
    if (!section) return;
    delete section.dataset.busy;
    section.querySelector<HTMLButtonElement>('.check-button')!.disabled = false;
    const output = section.querySelector('output.feedback')!;
    output.className = `feedback ${result.passed ? 'pass' : 'fail'}`;
    output.textContent = `${result.passed ? '✓' : '✗'} ${result.feedback}${result.solved ? ' (solved for you)' : ''}`;
    if (result.solve) this.showSolve(section, result.solve);
    if (!result.passed && section.dataset.state === 'todo') this.setState(result.step, 'failed');
    if (result.passed) section.querySelector('details.solution')?.removeAttribute('open');
  }

  /** "Solve it for me" leaves a trace: what it ran in the sandbox and what that printed. */
  private showSolve(section: HTMLElement, solve: SolveTrace): void {
    section.querySelector('.solve-trace')?.remove();
    const trace = document.createElement('details');
    trace.className = 'solve-trace';
    trace.open = true;
    const summary = document.createElement('summary');
    summary.textContent = solve.ok ? 'What “Solve it for me” did in your sandbox' : 'What “Solve it for me” tried in your sandbox (it failed)';
    const script = document.createElement('pre');
    script.className = 'solve-script';
    script.textContent = solve.script;
    const outputLabel = document.createElement('p');
    outputLabel.textContent = solve.output ? 'It printed:' : 'It printed nothing.';
    trace.append(summary, script, outputLabel);
    if (solve.output) {
      const output = document.createElement('pre');
      output.className = 'solve-output';
      output.textContent = solve.output;
      trace.append(output);
    }
    section.querySelector('form.step-check')!.after(trace);
  }

  /** A request failed before reaching check.sh (e.g. the sandbox is not running). */
  showError(message: string): void {
    for (const section of this.sections.values()) {
      if (section.dataset.busy !== 'true') continue;
      delete section.dataset.busy;
      section.querySelector<HTMLButtonElement>('.check-button')!.disabled = false;
      const output = section.querySelector('output.feedback')!;
      output.className = 'feedback fail';
      output.textContent = `✗ ${message}`;
    }
  }

  showProgress(progress: ProgressPayload): void {
    for (const id of this.sections.keys()) this.setState(id, stateOf(progress.steps[id]));
    const done = [...this.sections.keys()].filter((id) => ['passed', 'solved'].includes(stateOf(progress.steps[id]))).length;
    const count = this.root.querySelector('.step-count');
    if (count) count.textContent = `${done} of ${this.sections.size} done`;
  }

  private setState(id: string, state: StepState): void {
    this.sections.get(id)!.dataset.state = state;
    const item = this.root.querySelector<HTMLElement>(`.step-list li[data-step="${id}"]`);
    if (item) item.dataset.state = state;
  }
}
