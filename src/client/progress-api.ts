/** GET /api/progress: the attendee's progress; the first call also issues the attendee cookie. */
import type { StepProgress } from '../../protocol/messages.ts';

export interface LessonProgressSummary {
  total: number;
  done: number;
  steps: Record<string, StepProgress>;
}

let inFlight: Promise<Record<string, LessonProgressSummary>> | undefined;

/** Callers while a request is under way share it (a page's terminals each ask for the cookie). */
export function fetchProgress(): Promise<Record<string, LessonProgressSummary>> {
  inFlight ??= (async () => {
    try {
      const response = await fetch('/api/progress', { credentials: 'same-origin', cache: 'no-store' });
      if (!response.ok) throw new Error(`progress: HTTP ${response.status}`);
      return ((await response.json()) as { lessons: Record<string, LessonProgressSummary> }).lessons;
    } finally {
      inFlight = undefined;
    }
  })();
  return inFlight;
}
