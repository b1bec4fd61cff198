/** Samples → the figures a benchmark row reports. */
export interface Summary {
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank quantile of a sorted array. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0]!, p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), max: s[s.length - 1]! };
}

/** A latency row of the report: samples in ms, optionally beside the same work's floor. */
export interface LatencyRow {
  what: string;
  samples: number[];
  floor?: number[];
  target: string;
  /** Whether the target is met, decided by the bench that knows what the target means. */
  met?: boolean;
}

/** A figure that is not a latency distribution (a throughput, a size, a count). */
export interface FigureRow {
  what: string;
  value: string;
  floor?: string;
  target: string;
  met?: boolean;
  note?: string;
}
