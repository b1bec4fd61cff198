/**
 * `npm run lessons:test [lesson…] [--step <id>] [--json <file>] [--keep]`
 *
 * Proves every step of every lesson in a fresh, real sandbox: setup.sh, then for each step in
 * order: check.sh must FAIL, solve.sh runs, check.sh must PASS (given solve.sh's answer when the
 * step asks for one). With --step, a fresh sandbox gets the solves of the earlier steps and only
 * that step is tested. Prints a table, then what a failing step printed, in full; exits 1 on any
 * deviation. With --keep (one lesson), the sandbox stays up as the run left it, with a shell in it
 * for the author (at a terminal; otherwise the command to open one), until the shell exits or Ctrl-C.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalog, type Lesson } from '../../lesson-model/catalog.ts';
import { answerFrom, runCheck, runSolve } from './checker.ts';
import { LessonSandboxError, startLessonSandbox } from './lesson-sandbox.ts';
import { loadConfig, type ProfileSpec } from './config.ts';
import { stageLesson } from './lesson-staging.ts';
import { RoomServices } from './shared-services.ts';
import { loadOrCreateKey } from './secret-key.ts';
import type { BwrapBackend, BwrapSandbox } from './sandbox/bwrap.ts';
import { PtyInput } from './pty-input.ts';
import { createBwrapBackend } from './sandbox/create-backend.ts';

export interface StepReport {
  lesson: string;
  step: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

async function testLesson(lesson: Lesson, backend: BwrapBackend, services: RoomServices, stagingRoot: string, profile: ProfileSpec, only?: string, keep?: (sandbox: BwrapSandbox) => void): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  const began = performance.now();
  const report = (step: string, ok: boolean, detail: string, since: number) =>
    reports.push({ lesson: lesson.slug, step, ok, detail, seconds: (performance.now() - since) / 1000 });
  if (only && !lesson.steps.some((s) => s.id === only)) {
    report(only, false, `lesson ${lesson.slug} has no step "${only}"`, began);
    return reports;
  }
  // A fresh attendee of the shared services (say, a new project in the room's cloud), removed afterwards.
  const attendee = `lessons-test-${process.pid}-${lesson.slug}`;
  // With --step, the steps before it are replayed first, as a restore would.
  const earlier = only ? lesson.steps.slice(0, lesson.steps.findIndex((s) => s.id === only)) : [];
  let sandbox: BwrapSandbox;
  try {
    const started = await startLessonSandbox({
      lesson,
      stagedDir: stageLesson(lesson, stagingRoot),
      backend,
      profile,
      id: `lessons-test/${lesson.slug}`,
      services,
      attendee,
      replay: earlier,
      progress: (message) => console.error(`${lesson.slug}: ${message}`),
      keepOnFailure: keep !== undefined,
    });
    sandbox = started.sandbox as BwrapSandbox; // the bwrap backend's
  } catch (error) {
    if (!(error instanceof LessonSandboxError)) throw error;
    if (error.stage === 'replay') report(only!, false, error.message.replace('solve.sh of step', 'solve.sh of the earlier step'), began);
    else report(error.stage === 'services' ? '(services)' : '(setup)', false, error.message, began);
    if (error.sandbox) keep?.(error.sandbox as BwrapSandbox);
    else await services.deprovision(lesson, attendee).catch(() => undefined);
    return reports;
  }
  try {
    report('(setup)', true, earlier.length > 0 ? `setup.sh ran; ${earlier.length} earlier steps replayed` : 'setup.sh ran', began);
    for (const step of only ? lesson.steps.filter((s) => s.id === only) : lesson.steps) {
      const since = performance.now();
      const before = await runCheck(sandbox, step);
      if (before.passed) {
        report(step.id, false, `check.sh passed before solve.sh ran: ${before.feedback}`, since);
        return reports;
      }
      const solve = await runSolve(sandbox, step);
      if (!solve.ok) {
        report(step.id, false, `solve.sh failed: ${solve.output}`, since);
        return reports;
      }
      const after = await runCheck(sandbox, step, answerFrom(step, solve.output));
      report(step.id, after.passed, after.passed ? `fail → solve → pass (${after.feedback})` : `check.sh failed after solve.sh: ${after.feedback}`, since);
      if (!after.passed) return reports;
    }
  } finally {
    if (keep) keep(sandbox);
    else {
      await sandbox.destroy();
      await services.deprovision(lesson, attendee);
    }
  }
  return reports;
}

function printTable(reports: StepReport[]): void {
  const rows = reports.map((r) => [r.lesson, r.step, r.ok ? 'PASS' : 'FAIL', r.seconds.toFixed(2), r.detail.replace(/\s+/g, ' ').slice(0, 90)]);
  const header = ['lesson', 'step', 'result', 'seconds', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

function printReports(reports: StepReport[]): void {
  printTable(reports);
  // The table clips; what a failing step printed is what its author needs, whole.
  for (const r of reports.filter((r) => !r.ok)) console.log(`\nFAIL ${r.lesson} ${r.step}:\n${r.detail}`);
  const failed = reports.filter((r) => !r.ok).length;
  console.log(`\nlessons:test: ${reports.length - failed} passed, ${failed} failed`);
}

/**
 * --keep: the sandbox as the run left it, for its author. At a terminal, a shell in it (the
 * learner's: same namespaces, limits and filters), until it exits; otherwise the command for a shell
 * from another terminal (nsenter: the sandbox's namespaces and uid, not its seccomp filter or
 * cgroup), until Ctrl-C.
 */
async function keepOpen(sandbox: BwrapSandbox, lesson: Lesson): Promise<void> {
  if (process.stdin.isTTY && process.stdout.isTTY) {
    console.log(`\nkept: the sandbox of ${lesson.slug}. A shell in it follows; exit it (Ctrl-D) to tear the sandbox down.\n`);
    const pty = sandbox.spawnPty({ cols: process.stdout.columns, rows: process.stdout.rows });
    const input = new PtyInput(pty, 1024 * 1024);
    process.stdin.setRawMode(true);
    process.stdin.on('data', (data: Buffer) => input.write(data));
    process.stdout.on('resize', () => pty.resize(process.stdout.columns, process.stdout.rows));
    pty.onData((data) => process.stdout.write(data));
    await new Promise<void>((resolve) => pty.onExit(() => resolve()));
    process.stdin.setRawMode(false);
    process.stdin.pause();
    return;
  }
  console.log(`\nkept: the sandbox of ${lesson.slug} (uid ${sandbox.uid}). A shell in it, from another terminal, as root:`);
  console.log(`  nsenter --target ${sandbox.initPid} --all --setuid 0 --setgid 0 --wd=/root bash -l`);
  console.log('Ctrl-C here tears it down.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { step: { type: 'string' }, json: { type: 'string' }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('usage: npm run lessons:test -- [lesson…] [--step <id>] [--json <file>] [--keep]');
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error('lessons:test runs as root: each sandbox gets its own unprivileged uid');
    return 2;
  }
  const config = loadConfig();
  const catalog = loadCatalog(config.lessonsDir);
  const unknown = positionals.filter((slug) => !catalog.some((l) => l.slug === slug));
  if (unknown.length > 0) {
    console.error(`unknown lesson(s): ${unknown.join(', ')}; known: ${catalog.map((l) => l.slug).join(', ')}`);
    return 2;
  }
  if ((values.step || values.keep) && positionals.length !== 1) {
    console.error(`${values.step ? '--step' : '--keep'} needs exactly one lesson`);
    return 2;
  }
  const lessons = positionals.length > 0 ? catalog.filter((l) => positionals.includes(l.slug)) : catalog;
  const stagingRoot = mkdtempSync(join(tmpdir(), 'opslab-lessons-test-'));
  chmodSync(stagingRoot, 0o755);
  const backend = createBwrapBackend({
    uidBase: Number(process.env.OPSLAB_LESSONS_TEST_UID_BASE ?? 690_000),
    uidCount: 100,
    stagingDir: stagingRoot,
    devUnlimited: config.devUnlimited,
    // A lesson's own work is tested here, not the turn queue's fairness: a turn taken back from a
    // slow boot on a busy machine would fail a correct lesson (the queue has tests of its own).
    machineTurns: { ...config.machineTurns, seconds: Math.max(config.machineTurns.seconds, 3600) },
  });
  await backend.cleanupOrphans();
  const services = new RoomServices({ stagingDir: stagingRoot, key: async (name) => loadOrCreateKey(join(stagingRoot, `${name}.key`)), serviceOptions: config.serviceOptions, root: config.servicesDir });
  const reports: StepReport[] = [];
  let kept: BwrapSandbox | undefined;
  try {
    for (const lesson of lessons) reports.push(...(await testLesson(lesson, backend, services, stagingRoot, config.profiles[lesson.profile], values.step, values.keep ? (sandbox) => (kept = sandbox) : undefined)));
    printReports(reports);
    if (kept) await keepOpen(kept, lessons[0]!);
  } finally {
    await backend.destroyAll();
    await services.stop();
    rmSync(stagingRoot, { recursive: true, force: true });
  }
  const failed = reports.filter((r) => !r.ok).length;
  if (values.json) writeFileSync(values.json, JSON.stringify(reports, null, 2));
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
