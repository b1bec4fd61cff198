/** docs/benchmarks.md: the machine, the run, and every figure beside its floor and target. */
import { execSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { ProfileCapacity } from './capacity.ts';
import { summarize, type FigureRow, type LatencyRow } from './stats.ts';

const fmt = (n: number) => n.toFixed(1);
/** A table cell: a pipe inside (a shell pipeline) would end the cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');
const verdict = (met: boolean | undefined) => (met === undefined ? '' : met ? ' ✓' : ' ✗');

function latencyTable(rows: LatencyRow[]): string {
  const lines = rows.map((row) => {
    const s = summarize(row.samples);
    const floor = row.floor ? summarize(row.floor) : undefined;
    const ratio = floor ? `${(s.p50 / floor.p50).toFixed(1)}× / ${(s.p99 / floor.p99).toFixed(1)}× (floor ${fmt(floor.p50)} / ${fmt(floor.p99)})` : '—';
    return `| ${cell(row.what)} | ${row.samples.length} | ${fmt(s.min)} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | ${ratio} | ${row.target}${verdict(row.met)} |`;
  });
  return ['| what | n | min | p50 | p95 | p99 | vs floor: p50 / p99 | target |', '|---|---|---|---|---|---|---|---|', ...lines].join('\n');
}

function figureTable(rows: FigureRow[]): string {
  const lines = rows.map((row) => `| ${cell(row.what)} | ${cell(row.value)}${row.note ? `<br><small>${cell(row.note)}</small>` : ''} | ${cell(row.floor ?? '—')} | ${row.target}${verdict(row.met)} |`);
  return ['| what | figure | floor | target |', '|---|---|---|---|', ...lines].join('\n');
}

function capacityTable(capacities: ProfileCapacity[]): string {
  const MiB = 1024 * 1024;
  const lines = capacities.flatMap(({ profile, levels }) =>
    levels.map((l) => `| ${profile} | ${l.attendees} | ${fmt(l.echoP99)} | ${fmt(l.serverRss / MiB)} | ${fmt(l.sandboxPss / MiB)} | ${fmt(l.cgroupBytes / MiB)} | ${fmt(l.available / 2 ** 30)} |`),
  );
  return ['| profile | idle attendees | echo p99 (ms) | server RSS (MiB) | sandbox processes PSS (MiB) | sandbox cgroups (MiB) | MemAvailable (GiB) |', '|---|---|---|---|---|---|---|', ...lines].join('\n');
}

/** A line chart of echo p99 over idle attendees, one line per profile (SVG, no library needed for four lines). */
export function capacityChart(capacities: ProfileCapacity[]): string {
  const width = 640;
  const height = 320;
  const pad = { left: 56, right: 120, top: 20, bottom: 44 };
  const xs = capacities.flatMap((c) => c.levels.map((l) => l.attendees));
  const maxX = Math.max(1, ...xs);
  const maxY = Math.max(25, ...capacities.flatMap((c) => c.levels.map((l) => l.echoP99)));
  const x = (v: number) => pad.left + (v / maxX) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / maxY) * (height - pad.top - pad.bottom);
  const colors = ['#2563eb', '#16a34a', '#dc2626', '#9333ea'];
  const series = capacities.map((c, i) => {
    const points = c.levels.map((l) => `${x(l.attendees).toFixed(1)},${y(l.echoP99).toFixed(1)}`).join(' ');
    const last = c.levels[c.levels.length - 1];
    const label = last ? `<text x="${x(last.attendees) + 6}" y="${y(last.echoP99) + 4 + i * 12}" fill="${colors[i]}">${c.profile}</text>` : '';
    return `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${points}"/>${label}`;
  });
  const limit = `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(20)}" y2="${y(20)}" stroke="#999" stroke-dasharray="4 4"/><text x="${width - pad.right + 6}" y="${y(20) + 4}" fill="#666">20 ms</text>`;
  const axes = `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/><line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>`;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<text x="${x(f * maxX)}" y="${height - pad.bottom + 16}" text-anchor="middle">${Math.round(f * maxX)}</text><text x="${pad.left - 6}" y="${y(f * maxY) + 4}" text-anchor="end">${Math.round(f * maxY)}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11" style="background:#fff">
<text x="${pad.left}" y="${height - 8}">idle attendees (sandboxes with a shell at its prompt)</text>
<text x="12" y="${pad.top - 6}">keystroke echo p99 (ms)</text>
${axes}${ticks}${limit}
${series.join('\n')}
</svg>
`;
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${execSync('uname -sr', { encoding: 'utf8' }).trim()}`;
}

export function commit(): string {
  try {
    const dirty = execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' }).trim() !== '';
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim() + (dirty ? ' (with uncommitted changes)' : '');
  } catch {
    return 'not a git checkout';
  }
}

export function renderReport(latency: LatencyRow[], figures: FigureRow[], capacities: ProfileCapacity[], chartFile: string | undefined, seconds: number, settled: string[]): string {
  return `# Benchmarks

Latest run of \`npm run bench\` (bench/run.ts; ${Math.round(seconds)} s). Times in milliseconds. Targets are
what we aim for; they are reported here (✓ met, ✗ not met), never asserted in tests. Each floor is
the same work done in the same run without our stack: a raw local node-pty bash (no sandbox, no
WebSocket), or for the browser a raw pty into a bare xterm.js page; for the two sandbox rows, the
same sandbox without the hardening (no cgroups, no seccomp filter). The load generator is a Node
client over real WebSockets on loopback; the server runs as its own process. Before each stage the
run waits for the machine to be quiet${settled.length > 0 ? ` (it waited: ${settled.join(', ')})` : ''}.

- date: ${new Date().toISOString()}
- commit: ${commit()}
- machine: ${machine()}

## Latency

${latencyTable(latency)}

## Throughput, memory, capacity, weight

${figureTable(figures)}
${
  capacities.length > 0
    ? `
## Capacity ramp

Idle attendees are added level by level; at each level a probe shell's keystroke echo is measured.
${chartFile ? `\n![echo p99 over idle attendees](${chartFile})\n` : ''}
${capacityTable(capacities)}
`
    : ''
}`;
}
