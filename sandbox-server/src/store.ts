/**
 * Progress store: per attendee, per lesson, per step — status, attempts, timestamps, last feedback.
 * SQLite (better-sqlite3) in WAL mode: embedded, survives restarts, no server to run.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ProgressPayload, StepProgress, StepStatus } from '../../protocol/messages.ts';

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
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly selectLesson: Database.Statement;
  private readonly selectAttendee: Database.Statement;
  private readonly selectKnown: Database.Statement;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS step_progress (
        attendee TEXT NOT NULL,
        lesson TEXT NOT NULL,
        step TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('passed', 'solved', 'failed')),
        attempts INTEGER NOT NULL,
        first_attempt_at TEXT NOT NULL,
        passed_at TEXT,
        feedback TEXT,
        PRIMARY KEY (attendee, lesson, step)
      ) WITHOUT ROWID;
    `);
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
    this.selectLesson = this.db.prepare(
      'SELECT step, status, attempts, first_attempt_at, passed_at, feedback FROM step_progress WHERE attendee = ? AND lesson = ?',
    );
    this.selectKnown = this.db.prepare('SELECT 1 FROM step_progress WHERE attendee = ? LIMIT 1');
    this.selectAttendee = this.db.prepare(
      'SELECT lesson, step, status, attempts, first_attempt_at, passed_at, feedback FROM step_progress WHERE attendee = ?',
    );
  }

  record(check: CheckRecord, now = new Date()): void {
    const status: StepStatus = !check.passed ? 'failed' : check.solved ? 'solved' : 'passed';
    this.upsert.run({ ...check, status, now: now.toISOString(), feedback: check.feedback.slice(0, 2000) });
  }

  lessonProgress(attendee: string, lesson: string): ProgressPayload {
    const rows = this.selectLesson.all(attendee, lesson) as Row[];
    return { lesson, steps: Object.fromEntries(rows.map((row) => [row.step, toProgress(row)])) };
  }

  /** All lessons of one attendee, for the index page. */
  attendeeProgress(attendee: string): Record<string, ProgressPayload> {
    const rows = this.selectAttendee.all(attendee) as Array<Row & { lesson: string }>;
    const result: Record<string, ProgressPayload> = {};
    for (const row of rows) {
      (result[row.lesson] ??= { lesson: row.lesson, steps: {} }).steps[row.step] = toProgress(row);
    }
    return result;
  }

  /** Whether this attendee has any progress recorded. */
  knows(attendee: string): boolean {
    return this.selectKnown.get(attendee) !== undefined;
  }

  close(): void {
    this.db.close();
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
