/** The index page: fills in each lesson's progress bar. */
import { fetchProgress } from './progress-api.ts';

export async function showIndexProgress(): Promise<void> {
  let lessons;
  try {
    lessons = await fetchProgress();
  } catch {
    return; // the list still works without progress
  }
  for (const card of document.querySelectorAll<HTMLElement>('.lesson-card')) {
    const summary = lessons[card.dataset.lesson ?? ''];
    if (!summary) continue;
    card.querySelector('progress')!.value = summary.done;
    card.querySelector('.progress-text')!.textContent = `${summary.done} of ${summary.total} steps${summary.done === summary.total && summary.total > 0 ? ' ✓' : ''}`;
    card.dataset.done = String(summary.done);
  }
}
