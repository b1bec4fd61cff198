/**
 * Runs a step's check.sh / solve.sh inside the attendee's sandbox (never on the host), with the
 * step's timeout. check.sh: exit 0 = passed; its output is the learner's feedback.
 *
 * A <Quiz> is a step whose check is the server's own: the answer is the chosen options' indexes
 * ("0,2"), compared with those the author marked correct, which never leave the server. Its "solve"
 * prints the correct indexes, so "Solve it for me" and lessons:test treat it like any answer step.
 */
import type { Lesson, QuizStep, StepSpec } from '../../lesson-model/catalog.ts';
import type { Sandbox } from './sandbox/backend.ts';

const IN_SANDBOX = '/opt/opslab/lesson';
const FEEDBACK_LIMIT = 2000;

export interface CheckOutcome {
  passed: boolean;
  feedback: string;
  durationMs: number;
}

export interface SolveOutcome {
  ok: boolean;
  /** What solve.sh printed: for a step with an answer field, the answer read from the real state. */
  output: string;
  durationMs: number;
}

function scriptPath(step: StepSpec, kind: 'check' | 'solve'): string {
  return `${IN_SANDBOX}/steps/${step.id}/${kind}.sh`;
}

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= FEEDBACK_LIMIT ? trimmed : `…${trimmed.slice(-FEEDBACK_LIMIT)}`;
}

/** "0,2" → [0, 2]; anything else than distinct option indexes → undefined. */
export function parseQuizAnswer(step: QuizStep, answer: string | undefined): number[] | undefined {
  if (answer === undefined || !/^\d{1,3}(,\d{1,3})*$/.test(answer.trim())) return undefined;
  const chosen = answer.trim().split(',').map(Number);
  if (new Set(chosen).size !== chosen.length || chosen.some((i) => i >= step.options.length)) return undefined;
  return chosen.sort((a, b) => a - b);
}

export function gradeQuiz(step: QuizStep, answer: string | undefined): CheckOutcome {
  const chosen = parseQuizAnswer(step, answer);
  if (chosen === undefined || chosen.length === 0) {
    return { passed: false, feedback: step.correct.length > 1 ? 'Choose the options you think are right, then Check.' : 'Choose an option, then Check.', durationMs: 0 };
  }
  const passed = chosen.length === step.correct.length && chosen.every((i, n) => i === step.correct[n]);
  const feedback = passed
    ? 'Right.'
    : step.correct.length > 1
      ? 'Not quite: more than one option is right, and every chosen one must be. Read the step again and try once more.'
      : 'Not quite. Read the step again and try once more.';
  return { passed, feedback, durationMs: 0 };
}

export async function runCheck(sandbox: Sandbox, step: StepSpec, answer?: string): Promise<CheckOutcome> {
  if (step.kind === 'quiz') return gradeQuiz(step, answer);
  const argv = ['bash', scriptPath(step, 'check'), ...(answer !== undefined ? [answer] : [])];
  // In the checker's view: covering the check, bash or its tools in the terminal changes nothing here.
  const result = await sandbox.exec(argv, { timeoutMs: step.timeout * 1000, checker: true });
  const passed = result.code === 0 && !result.timedOut;
  let feedback = clip(result.output);
  if (result.timedOut) feedback = `The check did not finish within ${step.timeout} s.${feedback ? ` It said: ${feedback}` : ''}`;
  else if (!feedback) feedback = passed ? 'Done.' : 'Not done yet.';
  return { passed, feedback, durationMs: result.durationMs };
}

export async function runSolve(sandbox: Sandbox, step: StepSpec): Promise<SolveOutcome> {
  if (step.kind === 'quiz') return { ok: true, output: step.correct.join(','), durationMs: 0 };
  const result = await sandbox.exec(['bash', scriptPath(step, 'solve')], { timeoutMs: step.timeout * 1000 });
  return { ok: result.code === 0 && !result.timedOut, output: result.output.trim(), durationMs: result.durationMs };
}

/** For answer steps, solve.sh prints the answer; its last line is what a learner would paste. */
export function answerFrom(step: StepSpec, solveOutput: string): string | undefined {
  if (step.kind === 'script' && step.answer === undefined) return undefined;
  return solveOutput.split('\n').filter(Boolean).pop() ?? '';
}

/**
 * Copies the lesson's files/ into the home folder, then runs setup.sh. One process where the lesson
 * has no files (bash on setup.sh), none where it has neither: each exec costs a sandbox start
 * milliseconds of CPU on a machine with slow page-table updates (docs/decisions.md §23).
 */
export async function runSetup(sandbox: Sandbox, lesson: Pick<Lesson, 'filesDir' | 'setupScript'>, timeoutMs = 300_000): Promise<{ ok: boolean; output: string }> {
  const setup = `${IN_SANDBOX}/setup.sh`;
  let argv: string[];
  if (lesson.filesDir !== undefined) {
    const script = [
      // Not `cp -a`: the staged files belong to host root, unmapped in the sandbox, so preserving ownership fails.
      `cp -RP --preserve=mode,timestamps ${IN_SANDBOX}/files/. /root/`,
      lesson.setupScript !== undefined ? `exec bash ${setup}` : 'exit 0',
    ].join(' && ');
    argv = ['bash', '-c', script];
  } else if (lesson.setupScript !== undefined) {
    argv = ['bash', setup];
  } else {
    return { ok: true, output: '' };
  }
  const result = await sandbox.exec(argv, { timeoutMs });
  return { ok: result.code === 0 && !result.timedOut, output: clip(result.output) };
}
