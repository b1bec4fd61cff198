/**
 * A lesson's sandbox, started the one way: the lesson's shared services attached, the sandbox
 * created, its attachments started, files/ copied and setup.sh run, then the solves of the steps
 * already passed replayed, in lesson order. The server's sessions use its parts inside their own
 * orchestration (the warm pool, the start turns, the status the attendee sees); lessons:test and the
 * lab tests call `startLessonSandbox` for the whole of it.
 */
import type { Lesson, StepSpec } from '../../lesson-model/catalog.ts';
import { runSetup, runSolve } from './checker.ts';
import type { ProfileSpec } from './config.ts';
import type { Sandbox, SandboxAttachment, SandboxBackend, SandboxRequest } from './sandbox/backend.ts';
import type { SharedServices, StageProgress } from './sessions.ts';

/** Attachments' start (e.g. the cloud's doors), then files/ and setup.sh: what a fresh sandbox needs before anyone types. */
export async function setUpLesson(sandbox: Sandbox, lesson: Pick<Lesson, 'filesDir' | 'setupScript'>, attachments: readonly SandboxAttachment[]): Promise<{ ok: boolean; output: string }> {
  try {
    for (const attachment of attachments) await attachment.start?.(sandbox);
  } catch (error) {
    return { ok: false, output: (error as Error).message };
  }
  return runSetup(sandbox, lesson);
}

/** The solves of `steps`, in order, stopping at the first that fails; `before` hears each one first. */
export async function replaySolves(sandbox: Sandbox, steps: readonly StepSpec[], before: (step: StepSpec, index: number) => void = () => {}): Promise<{ ok: true } | { ok: false; step: StepSpec; output: string }> {
  for (const [index, step] of steps.entries()) {
    before(step, index);
    const solve = await runSolve(sandbox, step);
    if (!solve.ok) return { ok: false, step, output: solve.output };
  }
  return { ok: true };
}

export interface LessonSandboxRequest {
  lesson: Lesson;
  /** The lesson's staged folder (lesson-staging.ts), mounted at /opt/opslab/lesson. */
  stagedDir: string;
  backend: SandboxBackend;
  profile: ProfileSpec;
  id: string;
  /** The room's shared services and whose part of them this sandbox gets (lessons with `services:`). */
  services?: SharedServices;
  attendee?: string;
  /** Steps to replay after setup (those already passed). */
  replay?: readonly StepSpec[];
  /** More of the request (e.g. a door to the machine's turn queue). */
  extra?: Partial<SandboxRequest>;
  progress?: StageProgress;
  /** Keep a sandbox whose setup or replay failed (lessons:test --keep), on the error's `sandbox`. */
  keepOnFailure?: boolean;
}

export class LessonSandboxError extends Error {
  /** The sandbox whose setup or replay failed, when the request kept it. */
  sandbox?: Sandbox;

  constructor(
    readonly stage: 'services' | 'setup' | 'replay',
    message: string,
  ) {
    super(message);
    this.name = 'LessonSandboxError';
  }
}

/** The whole start; throws a LessonSandboxError naming the stage that failed and what it printed. */
export async function startLessonSandbox(r: LessonSandboxRequest): Promise<{ sandbox: Sandbox; attachments: SandboxAttachment[] }> {
  let attachments: SandboxAttachment[] = [];
  if (r.lesson.services.length > 0) {
    if (!r.services || r.attendee === undefined) throw new LessonSandboxError('services', `lesson ${r.lesson.slug} needs ${r.lesson.services.join(', ')}: give the room's services and an attendee`);
    try {
      attachments = await r.services.attach(r.lesson, r.attendee, r.progress ?? (() => {}));
    } catch (error) {
      throw new LessonSandboxError('services', `the lesson's shared services failed: ${(error as Error).message}`);
    }
  }
  const sandbox = await r.backend.create({ id: r.id, lessonDir: r.stagedDir, ...r.profile, attachments, ...r.extra });
  try {
    const setup = await setUpLesson(sandbox, r.lesson, attachments);
    if (!setup.ok) throw new LessonSandboxError('setup', `setup failed: ${setup.output}`);
    const replayed = await replaySolves(sandbox, r.replay ?? []);
    if (!replayed.ok) throw new LessonSandboxError('replay', `solve.sh of step ${replayed.step.id} failed: ${replayed.output}`);
  } catch (error) {
    if (r.keepOnFailure && error instanceof LessonSandboxError) error.sandbox = sandbox;
    else await sandbox.destroy();
    throw error;
  }
  return { sandbox, attachments };
}
