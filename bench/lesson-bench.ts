/**
 * A lesson's own benchmark: `lessons/<slug>/bench.ts`, whose default export is a LessonBench. The
 * runner (bench/run.ts) finds it and runs it as the stage named after the lesson
 * (`npm run bench -- --only <slug>`), in the lesson order, with uids of its own.
 */
import type { FigureRow, LatencyRow } from './stats.ts';

export interface LessonBenchContext {
  /** The smoke test's small sizes (`--quick`, in `npm test`): the numbers are not read, the run must work. */
  quick: boolean;
  /** Keystrokes per echo measurement. */
  keys: number;
  /** The first of the uids this stage's server may use (a range of 1000). */
  uidBase: number;
}

export type LessonBench = (context: LessonBenchContext) => Promise<{ latency: LatencyRow[]; figures: FigureRow[] }>;
