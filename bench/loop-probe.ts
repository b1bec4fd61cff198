/**
 * Loaded into the benchmarked server (node --import): its event loop's delay, the time a ready
 * callback (a keystroke, a new connection) waited for the loop. On SIGUSR2 it writes the figures
 * since the last SIGUSR2 to $OPSLAB_BENCH_LOOP_FILE and starts over. Bench-only: the product
 * exposes nothing of the kind.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.OPSLAB_BENCH_LOOP_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns: number) => ns / 1e6;
    writeFileSync(file, JSON.stringify({ p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), samples: histogram.count }));
    histogram.reset();
  });
}
