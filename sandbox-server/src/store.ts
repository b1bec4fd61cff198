/**
 * Progress store: per attendee, per lesson, per step — status, attempts, timestamps, last feedback —
 * and every check attempt with its feedback and how it passed (for the instructor's grid and export).
 * Tables: migrations.ts; the database behind it: sql.ts.
 */
import type { ProgressPayload, StepProgress, StepStatus } from '../../protocol/messages.ts';
import type { PassedHow } from '../../protocol/workshop.ts';
import type { Sql } from './sql.ts';

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


/** "With help": the instructor sent this attendee a hint, came to their raised hand or drove their keyboard since `?`. */
const HELPED_SINCE = `
  SELECT 1 AS helped FROM messages WHERE attendee = ? AND at >= ?
  UNION ALL SELECT 1 FROM help_requests WHERE attendee = ? AND state IN ('on-the-way', 'resolved') AND updated_at >= ?
  UNION ALL SELECT 1 FROM shadow_sessions WHERE attendee = ? AND keyboard_at IS NOT NULL AND (keyboard_at >= ? OR ended_at IS NULL OR ended_at >= ?)
  LIMIT 1`;

const STEP_COLUMNS = 'step, status, attempts, first_attempt_at, passed_at, feedback';

export class ProgressStore {
  constructor(private readonly sql: Sql) {}

  /** Records a check (or a solve) and its attempt in one transaction; returns how it counts. */
  async record(check: CheckRecord, now = new Date()): Promise<PassedHow> {
    const at = now.toISOString();
    const status: StepStatus = !check.passed ? 'failed' : check.solved ? 'solved' : 'passed';
    const feedback = check.feedback.slice(0, 2000);
    return this.sql.transaction(async (tx) => {
      // Help counts since the attendee's previous passed step (in this lesson, else in any).
      const last = await tx.get<{ at: string | null }>(
        `SELECT COALESCE(
           (SELECT MAX(at) FROM check_attempts WHERE attendee = ? AND lesson = ? AND passed = 1),
           (SELECT MAX(at) FROM check_attempts WHERE attendee = ? AND passed = 1)) AS at`,
        [check.attendee, check.lesson, check.attendee],
      );
      const since = last?.at ?? '';
      const helped = check.passed && !check.solved && (await tx.get(HELPED_SINCE, [check.attendee, since, check.attendee, since, check.attendee, since, since])) !== undefined;
      const how: PassedHow = check.solved ? 'solve' : helped ? 'help' : 'check';
      // A pass is never downgraded by a later failing check: the step was done; the store says when.
      await tx.run(
        `INSERT INTO step_progress (attendee, lesson, step, status, attempts, first_attempt_at, passed_at, feedback)
         VALUES (?, ?, ?, ?, 1, ?, ?, ?)
         ON CONFLICT (attendee, lesson, step) DO UPDATE SET
           attempts = step_progress.attempts + 1,
           status = CASE WHEN step_progress.status = 'failed' THEN excluded.status ELSE step_progress.status END,
           passed_at = COALESCE(step_progress.passed_at, excluded.passed_at),
           feedback = excluded.feedback`,
        [check.attendee, check.lesson, check.step, status, at, status === 'failed' ? null : at, feedback],
      );
      await tx.run('INSERT INTO check_attempts (attendee, lesson, step, at, passed, how, feedback) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        check.attendee, check.lesson, check.step, at, check.passed ? 1 : 0, how, feedback,
      ]);
      await tx.notify({ kind: 'progress', attendee: check.attendee, lesson: check.lesson });
      return how;
    });
  }

  async lessonProgress(attendee: string, lesson: string): Promise<ProgressPayload> {
    const rows = await this.sql.all<Row>(`SELECT ${STEP_COLUMNS} FROM step_progress WHERE attendee = ? AND lesson = ?`, [attendee, lesson]);
    return { lesson, steps: Object.fromEntries(rows.map((row) => [row.step, toProgress(row)])) };
  }

  /**
   * "Reset lesson": the attendee starts the lesson over. Their progress in it is forgotten; the
   * attempts stay in the history, but those before the reset no longer count (event-store.ts).
   */
  async resetLesson(attendee: string, lesson: string, now = new Date()): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.run('DELETE FROM step_progress WHERE attendee = ? AND lesson = ?', [attendee, lesson]);
      await tx.run('INSERT INTO lesson_resets (attendee, lesson, at) VALUES (?, ?, ?)', [attendee, lesson, now.toISOString()]);
      await tx.notify({ kind: 'progress', attendee, lesson });
    });
  }

  /** All lessons of one attendee, for the index page. */
  async attendeeProgress(attendee: string): Promise<Record<string, ProgressPayload>> {
    const rows = await this.sql.all<Row & { lesson: string }>(`SELECT lesson, ${STEP_COLUMNS} FROM step_progress WHERE attendee = ?`, [attendee]);
    const result: Record<string, ProgressPayload> = {};
    for (const row of rows) {
      (result[row.lesson] ??= { lesson: row.lesson, steps: {} }).steps[row.step] = toProgress(row);
    }
    return result;
  }

  /** Whether this attendee has any progress recorded. */
  async knows(attendee: string): Promise<boolean> {
    return (await this.sql.get('SELECT 1 AS known FROM step_progress WHERE attendee = ? LIMIT 1', [attendee])) !== undefined;
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
