/**
 * `npm run event -- create --title "OpenStack Ops Day" --lessons <a>,<b> --starts 2026-12-01T09:00 --expected 40 [--minutes 90]`
 * `npm run event -- list`
 *
 * Works on the server's database directly (SQLite takes writers from two processes), so an event
 * can be made before the server starts or while it runs; the running server sees it at once.
 */
import { parseArgs } from 'node:util';
import { formatJoinCode, type EventInfo } from '../protocol/workshop.ts';
import { loadConfig } from '../sandbox-server/src/config.ts';
import { openRoomStore } from '../sandbox-server/src/room-store.ts';
import { log } from '../sandbox-server/src/log.ts';
import { Workshop, WorkshopError } from '../sandbox-server/src/workshop.ts';
import { loadCatalog } from '../lesson-model/catalog.ts';

const USAGE = `usage:
  npm run event -- create --title "OpenStack Ops Day" --lessons <slug>,<slug>,… \\
                          --starts 2026-12-01T09:00 --expected 40 [--minutes 90]
  npm run event -- list`;

function fail(message: string): never {
  console.error(`event: ${message}`);
  process.exit(2);
}

function describe(event: EventInfo, base: string): string {
  const starts = Date.parse(event.clock.lessonStartedAt);
  let at = starts;
  const agenda = event.agenda.map((item, i) => {
    const line = `  ${new Date(at).toTimeString().slice(0, 5)}  ${item.title} (${item.minutes} min)${i === event.clock.lessonIndex && !event.clock.endedAt ? '  ← now' : ''}`;
    at += item.minutes * 60_000;
    return line;
  });
  return [
    `${event.title}${event.clock.endedAt ? ' (ended)' : ''}`,
    `  join code   ${formatJoinCode(event.code)}`,
    `  join link   ${base}/join?code=${event.code}`,
    `  dashboard   ${base}/instructor/events/${event.id}`,
    `  projector   ${base}/instructor/events/${event.id}/projector`,
    `  starts      ${new Date(event.startsAt).toString()}, ${event.expected} attendees expected`,
    ...agenda,
  ].join('\n');
}

async function main(): Promise<void> {
  log.level = 'warn'; // this command says what it did itself
  const [command, ...rest] = process.argv.slice(2);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { title: { type: 'string' }, lessons: { type: 'string' }, starts: { type: 'string' }, expected: { type: 'string' }, minutes: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const config = loadConfig();
  const base = config.publicOrigins[0] ?? `http://localhost:${config.port}`;
  let lessons;
  try {
    lessons = new Map(loadCatalog(config.lessonsDir).map((lesson) => [lesson.slug, lesson]));
  } catch (error) {
    fail((error as Error).message);
  }
  const room = await openRoomStore({ databasePath: config.databasePath, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}), node: config.nodeId, incarnation: 'npm-run-event' });
  const workshop = new Workshop({ node: config.nodeId, events: room.events, progress: room.progress, lessons, endGraceMs: config.eventEndGraceMs, stopSandboxes: async () => undefined });
  try {
    if (command === 'list') {
      const events = await workshop.list();
      console.log(events.length === 0 ? 'no events yet' : events.map((e) => describe(e, base)).join('\n\n'));
      return;
    }
    if (command !== 'create') fail(`unknown command "${command ?? ''}"\n${USAGE}`);
    const number = (name: 'expected' | 'minutes', value: string | undefined) => {
      if (value === undefined) return undefined;
      if (!/^\d+$/.test(value)) fail(`--${name} must be a whole number, got "${value}"`);
      return Number(value);
    };
    if (!values.title) fail(`--title is missing\n${USAGE}`);
    if (!values.lessons) fail(`--lessons is missing (comma-separated: ${[...lessons.keys()].join(',')})`);
    if (!values.starts) fail('--starts is missing (a date and time like 2026-12-01T09:00, the server\'s local time)');
    const expected = number('expected', values.expected);
    if (expected === undefined) fail('--expected is missing (how many attendees you expect: it sizes the warm pool)');
    const minutes = number('minutes', values.minutes);
    const { event, warnings } = await workshop.create({
      title: values.title,
      lessons: values.lessons.split(',').map((s) => s.trim()).filter(Boolean),
      starts: values.starts,
      expected,
      ...(minutes !== undefined ? { minutes } : {}),
    });
    console.log(describe(event, base));
    for (const warning of warnings) console.log(`\nnote: ${warning}`);
  } catch (error) {
    if (error instanceof WorkshopError) fail(error.message);
    throw error;
  } finally {
    workshop.close();
    await room.close();
  }
}

await main();
