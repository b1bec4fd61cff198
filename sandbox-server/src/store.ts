/**
 * Progress store: per attendee, per lesson, per step — status, attempts, timestamps, last feedback —
 * and every check attempt with its feedback and how it passed (for the instructor's grid and export).
 * Tables and migrations: database.ts.
 */
import type { ProgressPayload, StepProgress, StepStatus } from '../../protocol/messages.ts';
import type { PassedHow } from '../../protocol/workshop.ts';
import type { Db, Statement } from './database.ts';

interface Row {
  step: string;
  status: StepStatus;
  attempts: number;
  first_attempt_at: string;
  passed_at: string | null;
  feedback: string | null;
}

export interface CheckRecord {
  attendee: string;
  lesson: string;
  step: string;
  passed: boolean;
  /** Passed through "Solve it for me". */
  solved: boolean;
  feedback: string;
}


export class ProgressStore {
  private readonly upsert: Statement;
  private readonly insertAttempt: Statement;
  private readonly selectLastPass: Statement;
  private readonly selectHelped: Statement;
  private readonly selectLesson: Statement;
  private readonly selectAttendee: Statement;
  private readonly selectKnown: Statement;
  private readonly recordBoth: (check: CheckRecord, now: string) => PassedHow;
  private readonly reset: (attendee: string, lesson: string, now: string) => void;

  constructor(private readonly db: Db) {
    // A pass is never downgraded by a later failing check: the step was done; the store says when.
    this.upsert = this.db.prepare(`
      INSERT INTO step_progress (attendee, lesson, step, status, attempts, first_attempt_at, passed_at, feedback)
      VALUES (@attendee, @lesson, @step, @status, 1, @now, CASE WHEN @status = 'failed' THEN NULL ELSE @now END, @feedback)
      ON CONFLICT (attendee, lesson, step) DO UPDATE SET
        attempts = attempts + 1,
        status = CASE WHEN status = 'failed' THEN excluded.status ELSE status END,
        passed_at = COALESCE(passed_at, excluded.passed_at),
        feedback = excluded.feedback
    `);
    this.insertAttempt = this.db.prepare('INSERT INTO check_attempts (attendee, lesson, step, at, passed, how, feedback) VALUES (?, ?, ?, ?, ?, ?, ?)');
    // "With help": the instructor sent this attendee a hint, came to their raised hand or drove
    // their keyboard after their previous passed step (in this lesson, else in any), or still has it.
    this.selectLastPass = this.db.prepare(
      `SELECT COALESCE(
         (SELECT MAX(at) FROM check_attempts WHERE attendee = @attendee AND lesson = @lesson AND passed = 1),
         (SELECT MAX(at) FROM check_attempts WHERE attendee = @attendee AND passed = 1)) AS at`,
    );
    this.selectHelped = this.db.prepare(`
      SELECT 1 FROM messages WHERE attendee = @attendee AND at >= @since
      UNION ALL SELECT 1 FROM help_requests WHERE attendee = @attendee AND state IN ('on-the-way', 'resolved') AND updated_at >= @since
      UNION ALL SELECT 1 FROM shadow_sessions WHERE attendee = @attendee AND keyboard_at IS NOT NULL AND (keyboard_at >= @since OR ended_at IS NULL OR ended_at >= @since)
      LIMIT 1`);
    this.recordBoth = this.db.transaction((check: CheckRecord, now: string): PassedHow => {
      const status: StepStatus = !check.passed ? 'failed' : check.solved ? 'solved' : 'passed';
      const since = (this.selectLastPass.get({ attendee: check.attendee, lesson: check.lesson }) as { at: string | null }).at ?? '';
      const how: PassedHow = check.solved ? 'solve' : check.passed && this.selectHelped.get({ attendee: check.attendee, since }) ? 'help' : 'check';
      const feedback = check.feedback.slice(0, 2000);
      this.upsert.run({ ...check, status, now, feedback });
      this.insertAttempt.run(check.attendee, check.lesson, check.step, now, check.passed ? 1 : 0, how, feedback);
      return how;
    });
    const forget = this.db.prepare('DELETE FROM step_progress WHERE attendee = ? AND lesson = ?');
    const remember = this.db.prepare('INSERT INTO lesson_resets (attendee, lesson, at) VALUES (?, ?, ?)');
    this.reset = this.db.transaction((attendee: string, lesson: string, now: string) => {
      forget.run(attendee, lesson);
      remember.run(attendee, lesson, now);
    });
    this.selectLesson = this.db.prepare(
      'SELECT step, status, attempts, first_attempt_at, passed_at, feedback FROM step_progress WHERE attendee = ? AND lesson = ?',
    );
    this.selectKnown = this.db.prepare('SELECT 1 FROM step_progress WHERE attendee = ? LIMIT 1');
    this.selectAttendee = this.db.prepare(
      'SELECT lesson, step, status, attempts, first_attempt_at, passed_at, feedback FROM step_progress WHERE attendee = ?',
    );
  }

  /** Records a check (or a solve) and its attempt in one transaction; returns how it counts. */
  async record(check: CheckRecord, now = new Date()): Promise<PassedHow> {
    return this.recordBoth(check, now.toISOString());
  }

  async lessonProgress(attendee: string, lesson: string): Promise<ProgressPayload> {
    const rows = this.selectLesson.all(attendee, lesson) as Row[];
    return { lesson, steps: Object.fromEntries(rows.map((row) => [row.step, toProgress(row)])) };
  }

  /**
   * "Reset lesson": the attendee starts the lesson over. Their progress in it is forgotten; the
   * attempts stay in the history, but those before the reset no longer count (event-store.ts).
   */
  async resetLesson(attendee: string, lesson: string, now = new Date()): Promise<void> {
    this.reset(attendee, lesson, now.toISOString());
  }

  /** All lessons of one attendee, for the index page. */
  async attendeeProgress(attendee: string): Promise<Record<string, ProgressPayload>> {
    const rows = this.selectAttendee.all(attendee) as Array<Row & { lesson: string }>;
    const result: Record<string, ProgressPayload> = {};
    for (const row of rows) {
      (result[row.lesson] ??= { lesson: row.lesson, steps: {} }).steps[row.step] = toProgress(row);
    }
    return result;
  }

  /** Whether this attendee has any progress recorded. */
  async knows(attendee: string): Promise<boolean> {
    return this.selectKnown.get(attendee) !== undefined;
  }

}

function toProgress(row: Row): StepProgress {
  return {
    status: row.status,
    attempts: row.attempts,
    firstAttemptAt: row.first_attempt_at,
    ...(row.passed_at ? { passedAt: row.passed_at } : {}),
    ...(row.feedback ? { feedback: row.feedback } : {}),
  };
}

export const isDone = (p: StepProgress | undefined): boolean => p?.status === 'passed' || p?.status === 'solved';
