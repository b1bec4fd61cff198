/** GET /api/progress: the attendee's progress; the first call also issues the attendee cookie. */
import type { StepProgress } from '../../protocol/messages.ts';

export interface LessonProgressSummary {
  total: number;
  done: number;
  steps: Record<string, StepProgress>;
}

export async function fetchProgress(): Promise<Record<string, LessonProgressSummary>> {
  const response = await fetch('/api/progress', { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) throw new Error(`progress: HTTP ${response.status}`);
  return ((await response.json()) as { lessons: Record<string, LessonProgressSummary> }).lessons;
}
