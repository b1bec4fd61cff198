/**
 * Runs a step's check.sh / solve.sh inside the attendee's sandbox (never on the host), with the
 * step's timeout. check.sh: exit 0 = passed; its output is the learner's feedback.
 */
import type { Lesson, StepSpec } from '../../src/lessons/catalog.ts';
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

export async function runCheck(sandbox: Sandbox, step: StepSpec, answer?: string): Promise<CheckOutcome> {
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
  const result = await sandbox.exec(['bash', scriptPath(step, 'solve')], { timeoutMs: step.timeout * 1000 });
  return { ok: result.code === 0 && !result.timedOut, output: result.output.trim(), durationMs: result.durationMs };
}

/** For answer steps, solve.sh prints the answer; its last line is what a learner would paste. */
export function answerFrom(step: StepSpec, solveOutput: string): string | undefined {
  if (step.answer === undefined) return undefined;
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
