/**
 * `npm run bench [-- --only echo,burst] [--quick]`: the benchmarks of docs/benchmarks.md, each
 * beside its floor in the same run. A full run writes docs/benchmarks.md and the capacity chart;
 * `--only` prints its rows; `--quick` (small sizes, for the smoke test) writes to `--out` if given.
 * Numbers are reported, never asserted; the run fails only if a benchmark cannot run or loses bytes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { projectRoot } from '../sandbox-server/src/config.ts';
import { loadCatalog } from '../lesson-model/catalog.ts';
import { launchChromium, benchLessonPages, benchPage } from './browser.ts';
import { benchGlyph } from './glyph.ts';
import { benchBurst } from './burst.ts';
import { benchCapacity, type ProfileCapacity } from './capacity.ts';
import { benchEcho } from './echo.ts';
import { benchEvent } from './event.ts';
import { benchLatency } from './latency.ts';
import { benchNodes } from './nodes.ts';
import type { LessonBench } from './lesson-bench.ts';
import { benchPageWeight } from './page-weight.ts';
import { benchReaping } from './reaping.ts';
import { capacityChart, renderReport } from './report.ts';
import { settle, startBenchServer } from './server.ts';
import type { FigureRow, LatencyRow } from './stats.ts';
import { benchThroughput } from './throughput.ts';

// The lessons' own stages (lessons/<slug>/bench.ts), in lesson order, named after their lesson.
const lessonsDir = process.env.OPSLAB_LESSONS_DIR ?? join(projectRoot, 'lessons');
const lessonBenches = loadCatalog(lessonsDir)
  .map((lesson) => ({ slug: lesson.slug, file: join(lesson.dir, 'bench.ts') }))
  .filter(({ file }) => existsSync(file));
// Capacity last: the kernel takes minutes to free a thousand sandboxes' namespaces.
const STAGES = ['latency', 'echo', 'burst', 'event', 'reaping', 'browser', ...lessonBenches.map((b) => b.slug), 'nodes', 'capacity'];
type Stage = string;

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const only = values.only ? values.only.split(',') : [...STAGES];
const unknown = only.filter((s) => !STAGES.includes(s));
if (unknown.length > 0) {
  console.error(`unknown stage(s): ${unknown.join(', ')}; stages: ${STAGES.join(', ')}`);
  process.exit(2);
}
const settled: string[] = [];
/**
 * Whether to run `stage`; if so, first waits for the machine to be quiet — except in a quick run,
 * whose numbers nobody reads (the smoke test in `npm test`): on a busy CI machine the wait was up
 * to two minutes per stage, for nothing.
 */
const run = async (stage: Stage) => {
  if (!only.includes(stage)) return false;
  const waited = values.quick ? 0 : await settle();
  if (waited > 5) settled.push(`${stage}: ${waited.toFixed(0)} s`);
  return true;
};
const quick = values.quick;
const MiB = 1024 * 1024;

/** Sizes of a full run and of the smoke test's quick one. */
const sizes = quick
  ? { iterations: 5, keys: 40, streamers: 5, burst: 15, burstWindowMs: 2000, pooledRounds: 1, reaped: 10, levels: [5, 10], floodBytes: 2 * MiB, pageIterations: 3, glyphs: 20, eventAttendees: 15, checkWindowMs: 2000 }
  : { iterations: 30, keys: 300, streamers: 50, burst: 150, burstWindowMs: 10_000, pooledRounds: 5, reaped: 300, levels: [50, 100, 200, 400, 600, 800, 1000], floodBytes: 200 * MiB, pageIterations: 15, glyphs: 200, eventAttendees: 150, checkWindowMs: 10_000 };

const started = performance.now();
const latency: LatencyRow[] = [];
const figures: FigureRow[] = [];
let capacities: ProfileCapacity[] = [];
const work = mkdtempSync(join(tmpdir(), 'opslab-bench-'));
chmodSync(work, 0o755);
try {
  if (await run('latency')) latency.push(...(await benchLatency(sizes.iterations, work, 720_000)));
  if (await run('echo')) {
    const echo = await benchEcho({ keys: sizes.keys, streamers: sizes.streamers, uidBase: 800_000 });
    latency.push(...echo.latency);
    figures.push(...echo.figures);
  }
  if (await run('burst')) {
    const burst = await benchBurst({ attendees: sizes.burst, windowMs: sizes.burstWindowMs, pooledRounds: sizes.pooledRounds, uidBase: 810_000 });
    latency.push(...burst.rows);
    figures.push(...burst.figures);
  }
  if (await run('event')) {
    const event = await benchEvent({ attendees: sizes.eventAttendees, checkWindowMs: sizes.checkWindowMs, uidBase: 812_000, settle: !quick });
    latency.push(...event.rows);
    figures.push(...event.figures);
  }
  if (await run('reaping')) latency.push(...(await benchReaping({ attendees: sizes.reaped, keys: sizes.keys, uidBase: 815_000 })));
  if (await run('browser')) {
    const server = await startBenchServer(830_000);
    const browser = await launchChromium();
    try {
      latency.push(...(await benchPage(browser, server.url, sizes.pageIterations)));
      latency.push(...(await benchGlyph(browser, server.url, sizes.glyphs)));
      figures.push(...(await benchThroughput(browser, server, { floodBytes: sizes.floodBytes, concurrent: quick ? 3 : 20, concurrentBytes: quick ? MiB : 20 * MiB })));
      figures.push(...(await benchPageWeight(browser, server.url, ['getting-started', 'zerovm'])));
      // Every lesson of the agenda, as an attendee meets it; a full run also starts the cloud cold once.
      const lessons = loadCatalog(lessonsDir);
      const stopCloud = () => void execFileSync('bash', [join(projectRoot, 'services/openstack/control-plane.sh'), 'stop'], { stdio: 'ignore', timeout: 120_000 });
      const pages = await benchLessonPages(browser, server.url, lessons, { iterations: quick ? 1 : 5, coldCloud: () => (quick ? undefined : Promise.resolve(stopCloud())) });
      latency.push(...pages.latency);
      for (const [slug, seen] of pages.stages) figures.push({ what: `browser: the waits shown opening ${slug}`, value: seen.join(' → ') || '(none: ready within a frame)', target: 'report it' });
    } finally {
      await browser.close();
      await server.stop();
    }
  }
  for (const [index, { slug, file }] of lessonBenches.entries()) {
    if (!(await run(slug))) continue;
    const bench = (await import(pathToFileURL(file).href)).default as LessonBench;
    const result = await bench({ quick, keys: sizes.keys, uidBase: 840_000 + index * 5000 });
    latency.push(...result.latency);
    figures.push(...result.figures);
  }
  if (await run('nodes')) {
    const nodes = await benchNodes({ arrivals: quick ? 3 : 30, keys: sizes.keys, room: quick ? 9 : 60, uidBase: 870_000 });
    latency.push(...nodes.rows);
    figures.push(...nodes.figures);
  }
  if (await run('capacity')) {
    const capacity = await benchCapacity({ levels: sizes.levels, keys: sizes.keys, uidBase: 820_000 });
    figures.push(...capacity.figures);
    capacities = capacity.capacities;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const docs = fileURLToPath(new URL('../docs/', import.meta.url));
const full = only.length === STAGES.length && !quick;
const out = values.out ?? (full ? join(docs, 'benchmarks.md') : undefined);
const chartFile = capacities.length > 0 && full ? 'benchmarks-capacity.svg' : undefined;
const report = renderReport(latency, figures, capacities, chartFile, (performance.now() - started) / 1000, settled);
console.log(report);
if (out) {
  writeFileSync(out, report);
  if (chartFile) writeFileSync(join(dirname(out), chartFile), capacityChart(capacities));
  console.log(`written: ${out}`);
}
// Correctness, not speed: a lost byte fails the run.
const lost = figures.filter((f) => f.target === 'no byte lost' && !f.met);
process.exit(lost.length > 0 ? 1 : 0);
