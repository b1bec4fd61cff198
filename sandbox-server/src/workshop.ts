/**
 * The room, live: events and their clocks, the instructor's grid, help requests and messages, and
 * the streams that carry each change to the dashboards and attendees' pages the moment it happens
 * (server-sent events, sse.ts). Everything it knows is in the database (event-store.ts, store.ts),
 * so a restart mid-event loses nothing: pages reconnect and get a fresh snapshot.
 */
import type { Lesson } from '../../lesson-model/catalog.ts';
import {
  needsHelpFirst,
  type AttendeeEventState,
  type DashboardEvent,
  type DashboardSnapshot,
  type EventClock,
  type EventInfo,
  type GridCell,
  type GridRow,
  type HelpRequest,
  type HelpState,
  type KeyboardState,
  type ShadowState,
  type StepInfo,
  type WarmStatus,
} from '../../protocol/workshop.ts';
import { normalizeJoinCode, type AttemptRecord, type EventAttendee, type EventRecord, type EventStore, type HelpRecord } from './event-store.ts';
import { log } from './log.ts';
import type { SseStream } from './sse.ts';
import type { ProgressStore } from './store.ts';
import type { RoomChange } from './sql.ts';

/** A request the workshop refuses, with the HTTP status and the words to show. */
export class WorkshopError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WorkshopError';
  }
}

export interface NewEventInput {
  title: string;
  lessons: string[];
  /** ISO date-time (a time without a zone is the server's local time). */
  starts: string;
  expected: number;
  /** The event's length in minutes, when it is not simply the lessons' durations added up. */
  minutes?: number;
}

export interface WorkshopOptions {
  /** This node's id (OPSLAB_NODE_ID): its shadowing records and its attendees' open pages carry it. */
  node: string;
  /** The room's only node (SQLite): records of other names are its own from before a rename, and every page is its own. */
  alone?: boolean;
  /**
   * A room of several nodes: the share of the room this node warms sandboxes for (1 / the nodes
   * taking attendees; the balancer spreads newcomers evenly). Alone: all of it.
   */
  warmShare?(): Promise<number>;
  /** A room of several nodes: the node that holds an attendee (placement.ts), shown on their row. */
  nodeOf?(attendee: string): Promise<string | undefined>;
  events: EventStore;
  progress: ProgressStore;
  lessons: ReadonlyMap<string, Lesson>;
  /** Stops every sandbox of one attendee (an ended event's, after the grace period). */
  stopSandboxes(attendee: string, message: string): Promise<void>;
  /** After an event ends, its sandboxes are stopped this much later (progress is kept). */
  endGraceMs: number;
  /** The warm pool (sandbox-pool.ts): what the events ask for per lesson, and lessons whose shared services to bring up. */
  warm?: {
    setTargets(targets: ReadonlyMap<string, number>): void;
    status(lesson: string): { ready: number; target: number; memoryBound: boolean };
    canPool(lesson: string): boolean;
    bringUpServices(lesson: string): void;
    /** Whether this attendee already has a sandbox of this lesson (then the pool need not make theirs). */
    holdsSandbox(attendee: string, lesson: string): boolean;
  };
}

/** Of the attendees expected, the share the warm pool makes sandboxes for in advance. */
export const WARM_SHARE = 0.7;
/** The warm pool starts filling this long before the event's start. */
export const WARM_LEAD_MS = 5 * 60_000;
const WARM_TICK_MS = 5_000;
/** An event nobody ended stops warming this long after its agenda's end. */
const WARM_AFTER_AGENDA_MS = 2 * 3600_000;

/** Failed checks in a row that make an attendee "stuck", whatever the time. */
export const STUCK_FAILURES = 3;
/** Messages an attendee's page keeps (broadcasts and hints). */
const MESSAGES_SHOWN = 5;
/** An attendee's open pages with an event stream: their tabs, not a flood. */
export const MAX_PAGES_PER_ATTENDEE = 8;
/** How often stuck-by-time is re-evaluated for open dashboards. */
const STUCK_TICK_MS = 15_000;
const MAX_TEXT = 500;
export const ENDED_MESSAGE = 'The workshop has ended: this sandbox was stopped. Your progress is kept.';

const minutesOf = (ms: number) => Math.round(ms / 60_000);

/** One instructor shadowing one terminal (shadow.ts): the workshop tells it what the attendee decides. */
export interface Shadow {
  readonly state: ShadowState;
  setKeyboard(keyboard: KeyboardState): void;
  end(reason: string): void;
}

export class Workshop {
  private readonly dashboards = new Map<string, Set<SseStream>>();
  /** Each attendee's open pages (event streams), by attendee. */
  private readonly pages = new Map<string, Set<SseStream>>();
  private readonly endTimers = new Map<string, NodeJS.Timeout>();
  private readonly tick: NodeJS.Timeout;
  private readonly warmTick: NodeJS.Timeout;
  private readonly warmSent = new Map<string, string>();
  private readonly servicesUp = new Set<string>();
  /** The last row sent per event and attendee, so a tick sends only rows that changed. */
  private readonly sentRows = new Map<string, string>();
  /** Who is being shadowed, by attendee (one instructor at a time per attendee). */
  private readonly shadows = new Map<string, { shadow: Shadow; recordId: number }>();

  constructor(private readonly o: WorkshopOptions) {
    this.tick = setInterval(() => this.inBackground('refreshing the grid', this.refreshStuck()), STUCK_TICK_MS);
    this.tick.unref();
    this.warmTick = setInterval(() => this.inBackground('rewarming', this.rewarm()), WARM_TICK_MS);
    this.warmTick.unref();
  }

  /**
   * What a server does once at its start (the store is asynchronous, a constructor cannot wait for
   * it): shadowing sessions and open pages a stop left recorded are ended, the pool's targets set, and events that
   * ended shortly before a restart still get their sandboxes stopped on time. A tool that only
   * reads or creates events (npm run event) does not call it.
   */
  async start(): Promise<void> {
    // Alone in the room (SQLite), every shadowing record is this server's, whatever its host was
    // called before; a node of a room ends its own when it announces itself (node-store.ts).
    if (this.o.alone) await this.o.events.endOpenShadows();
    await this.rewarm();
    for (const event of await this.o.events.list()) if (event.clock.endedAt) this.scheduleStop(event);
  }

  /** A timer's or a callback's work: its failure is logged, never thrown into the event loop. */
  private inBackground(what: string, work: Promise<unknown>): void {
    work.catch((error) => log.error({ err: error }, `the workshop failed ${what}`));
  }

  close(): void {
    clearInterval(this.tick);
    clearInterval(this.warmTick);
    for (const { shadow } of [...this.shadows.values()]) shadow.end('the server is stopping');
    for (const timer of this.endTimers.values()) clearTimeout(timer);
    for (const streams of [...this.dashboards.values(), ...this.pages.values()]) for (const stream of streams) stream.close();
  }

  // ------------------------------------------------------------------ events

  /** Checks and creates an event; `warnings` say what looks wrong but is allowed (the agenda's length). */
  async create(input: NewEventInput, now = new Date()): Promise<{ event: EventInfo; warnings: string[] }> {
    const title = input.title.trim();
    if (!title || title.length > 120) throw new WorkshopError(400, 'title: give the event a title (at most 120 characters)');
    if (input.lessons.length === 0) throw new WorkshopError(400, 'lessons: name at least one lesson');
    const unknown = input.lessons.filter((slug) => !this.o.lessons.has(slug));
    if (unknown.length > 0) throw new WorkshopError(400, `lessons: there is no lesson ${unknown.map((s) => `"${s}"`).join(', ')} (there are: ${[...this.o.lessons.keys()].join(', ')})`);
    if (new Set(input.lessons).size !== input.lessons.length) throw new WorkshopError(400, 'lessons: a lesson is named twice');
    const starts = new Date(input.starts);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(input.starts) || Number.isNaN(starts.getTime())) {
      throw new WorkshopError(400, `starts: "${input.starts}" is not a date and time like 2026-12-01T09:00`);
    }
    if (!Number.isInteger(input.expected) || input.expected < 1 || input.expected > 1000) throw new WorkshopError(400, 'expected: the number of attendees expected, 1 to 1000');
    const warnings: string[] = [];
    const agendaMinutes = input.lessons.reduce((sum, slug) => sum + this.o.lessons.get(slug)!.duration, 0);
    if (input.minutes !== undefined) {
      if (!Number.isInteger(input.minutes) || input.minutes < 1 || input.minutes > 24 * 60) throw new WorkshopError(400, 'minutes: the event\'s length in minutes, 1 to 1440');
      if (input.minutes !== agendaMinutes) {
        warnings.push(`the lessons' durations add up to ${agendaMinutes} minutes (${input.lessons.map((s) => `${s} ${this.o.lessons.get(s)!.duration}`).join(', ')}), not the event's ${input.minutes}`);
      }
    }
    const record = await this.o.events.create({ title, lessons: input.lessons, startsAt: starts.toISOString(), expected: input.expected }, now);
    log.info({ event: record.id, code: record.code }, 'event created');
    return { event: this.info(record), warnings };
  }

  async list(): Promise<EventInfo[]> {
    return (await this.o.events.list()).map((record) => this.info(record));
  }

  async event(id: string): Promise<EventRecord> {
    const record = /^[0-9a-f]{12}$/.test(id) ? await this.o.events.get(id) : undefined;
    if (!record) throw new WorkshopError(404, `there is no event "${id}"`);
    return record;
  }

  info(record: EventRecord): EventInfo {
    return {
      id: record.id,
      code: record.code,
      title: record.title,
      startsAt: record.startsAt,
      expected: record.expected,
      createdAt: record.createdAt,
      agenda: record.lessons.map((slug) => {
        const lesson = this.o.lessons.get(slug);
        // A lesson removed since the event was made stays in its agenda by name.
        return { lesson: slug, title: lesson?.title ?? slug, minutes: lesson?.duration ?? 0 };
      }),
      clock: record.clock,
    };
  }

  private currentLesson(record: EventRecord): Lesson | undefined {
    return this.o.lessons.get(record.lessons[record.clock.lessonIndex] ?? '');
  }

  private stepsOf(record: EventRecord): StepInfo[] {
    return (this.currentLesson(record)?.steps ?? []).map((s) => ({ id: s.id, title: s.title }));
  }

  private terminalsOf(record: EventRecord): string[] {
    return (this.currentLesson(record)?.terminals ?? []).map((t) => t.id);
  }

  // ------------------------------------------------------------------ the clock

  /** Pause, resume, extend by minutes, move to the next lesson, or end the event. */
  async clock(id: string, action: 'pause' | 'resume' | 'extend' | 'next' | 'end', minutes = 5, now = new Date()): Promise<EventInfo> {
    await this.event(id);
    if (action === 'extend' && (!Number.isInteger(minutes) || minutes < -120 || minutes > 120 || minutes === 0)) throw new WorkshopError(400, 'minutes: a whole number from -120 to 120');
    // Read, changed and saved in one transaction: two instructors (or nodes) cannot lose a change.
    const updated = await this.o.events.updateClock(id, (record) => {
      const clock: EventClock = { ...record.clock };
      if (clock.endedAt) throw new WorkshopError(409, 'the event has ended');
      const at = now.toISOString();
      const settlePause = () => {
        // Only paused time after the lesson's clock started counts (a pause before the start adds nothing).
        if (clock.pausedAt) clock.pausedMs += Math.max(0, now.getTime() - Math.max(Date.parse(clock.pausedAt), Date.parse(clock.lessonStartedAt)));
        delete clock.pausedAt;
      };
      switch (action) {
        case 'pause':
          clock.pausedAt ??= at;
          break;
        case 'resume':
          settlePause();
          break;
        case 'extend':
          clock.extendedMs += minutes * 60_000;
          break;
        case 'next':
          if (clock.lessonIndex + 1 >= record.lessons.length) throw new WorkshopError(409, 'this is the last lesson of the agenda: end the event instead');
          clock.lessonIndex++;
          clock.lessonStartedAt = at;
          clock.pausedMs = 0;
          clock.extendedMs = 0;
          delete clock.pausedAt;
          break;
        case 'end':
          settlePause();
          clock.endedAt = at;
          break;
      }
      return clock;
    });
    await this.clockChanged(updated, action === 'next');
    return this.info(updated);
  }

  /** An event's clock changed, here or on another node: every node stops its own sandboxes of an ended event. */
  private async clockChanged(record: EventRecord, newLesson: boolean): Promise<void> {
    if (record.clock.endedAt) this.scheduleStop(record);
    await this.eventChanged(record, newLesson);
    if (newLesson || record.clock.endedAt) await this.rewarm();
  }

  private scheduleStop(record: EventRecord): void {
    if (this.endTimers.has(record.id) || !record.clock.endedAt) return;
    const due = Date.parse(record.clock.endedAt) + this.o.endGraceMs - Date.now();
    const stopAll = async () => {
      for (const { attendee } of await this.o.events.attendees(record.id)) {
        // Who has joined another event since is that event's now.
        if ((await this.o.events.eventOf(attendee))?.id !== record.id) continue;
        this.o.stopSandboxes(attendee, ENDED_MESSAGE).catch((error) => log.warn({ err: error, attendee }, 'could not stop an ended event\'s sandbox'));
      }
    };
    const timer = setTimeout(() => this.inBackground('stopping an ended event\'s sandboxes', stopAll()), Math.max(0, due));
    timer.unref();
    this.endTimers.set(record.id, timer);
  }

  /** "Warm up now": the pool starts filling for the room's lesson now, not at the start − 5 min. */
  async warmNow(id: string): Promise<WarmStatus> {
    const record = await this.event(id);
    if (record.clock.endedAt) throw new WorkshopError(409, 'the event has ended');
    await this.o.events.warmNow(id);
    await this.rewarm();
    return this.warmStatus(await this.event(id));
  }

  /** Warming stops this long after the agenda's end, for an event nobody ended. */
  private warmUntil(record: EventRecord): number {
    const agendaMs = this.info(record).agenda.reduce((sum, item) => sum + item.minutes * 60_000, 0);
    return Date.parse(record.startsAt) + agendaMs + WARM_AFTER_AGENDA_MS;
  }

  private warmFrom(record: EventRecord): number {
    const byStart = Date.parse(record.startsAt) - WARM_LEAD_MS;
    return record.warmFrom ? Math.min(byStart, Date.parse(record.warmFrom)) : byStart;
  }

  /**
   * What the pool should hold for one event's lesson now: the share of the room expected that has
   * not arrived in that lesson yet.
   */
  private async warmTarget(record: EventRecord, lesson: string): Promise<number> {
    const warm = this.o.warm;
    if (!warm?.canPool(lesson)) return 0;
    // Arrived: holding a sandbox of the lesson, or with progress in it (a restore never takes a
    // pooled sandbox). Joins beyond `expected` do not grow it: a code shared too widely cannot
    // make the pool take the machine.
    let arrived = 0;
    for (const a of await this.o.events.attendees(record.id)) {
      if (warm.holdsSandbox(a.attendee, lesson) || Object.keys((await this.o.progress.lessonProgress(a.attendee, lesson)).steps).length > 0) arrived++;
    }
    return Math.max(0, Math.ceil(WARM_SHARE * record.expected) - arrived);
  }

  private warmStatus(record: EventRecord, now = Date.now()): WarmStatus {
    const lesson = record.lessons[record.clock.lessonIndex] ?? '';
    const from = this.warmFrom(record);
    const pool = this.o.warm?.status(lesson) ?? { ready: 0, target: 0, memoryBound: false };
    return {
      lesson,
      from: new Date(from).toISOString(),
      active: !record.clock.endedAt && now >= from && now < this.warmUntil(record),
      ...pool,
      services: this.o.lessons.get(lesson)?.services ?? [],
    };
  }

  /** Recomputes the pool's targets from every event in its warm window, and tells dashboards how it fills. */
  private async rewarm(): Promise<void> {
    const warm = this.o.warm;
    if (!warm) return;
    const now = Date.now();
    const targets = new Map<string, number>();
    const share = (await this.o.warmShare?.()) ?? 1;
    for (const record of await this.o.events.open()) {
      const lesson = record.lessons[record.clock.lessonIndex];
      if (!lesson || now < this.warmFrom(record) || now >= this.warmUntil(record)) continue;
      targets.set(lesson, (targets.get(lesson) ?? 0) + Math.ceil(share * (await this.warmTarget(record, lesson))));
      // Shared services cannot be pooled: they come up when the warm window opens.
      if ((this.o.lessons.get(lesson)?.services.length ?? 0) > 0 && !this.servicesUp.has(lesson)) {
        this.servicesUp.add(lesson);
        warm.bringUpServices(lesson);
      }
    }
    warm.setTargets(targets);
    for (const [eventId, streams] of this.dashboards) {
      if (streams.size === 0) continue;
      const record = await this.o.events.get(eventId);
      if (!record) continue;
      const status = this.warmStatus(record, now);
      const text = JSON.stringify(status);
      if (this.warmSent.get(eventId) === text) continue;
      this.warmSent.set(eventId, text);
      this.toDashboards(eventId, { type: 'warm', warm: status });
    }
  }

  // ------------------------------------------------------------------ attendees

  /** Joins the event with this code under this name; returns the event (its current lesson is where to go). */
  async join(code: string, name: string, attendee: string, now = new Date()): Promise<EventInfo> {
    const normalized = normalizeJoinCode(code);
    const record = normalized && await this.o.events.byCode(normalized);
    if (!record) throw new WorkshopError(404, 'No event has that code: check it on the projector (letters and digits, no 0, O, 1 or I).');
    if (record.clock.endedAt) throw new WorkshopError(409, 'That event has ended. You can still open any lesson on your own from the home page.');
    const display = name.trim().replace(/\s+/g, ' ');
    if (!display || display.length > 40) throw new WorkshopError(400, 'Give a name of 1 to 40 characters: it is how the instructor sees you.');
    await this.o.events.join(record.id, attendee, display, now);
    await this.rowChanged(record, attendee);
    await this.pushTo(attendee);
    return this.info(record);
  }

  /** The attendee's event as their page shows it; undefined when they joined none. */
  async attendeeState(attendee: string, now = new Date()): Promise<AttendeeEventState | undefined> {
    const record = await this.o.events.eventOf(attendee);
    if (!record) return undefined;
    const me = (await this.o.events.attendee(record.id, attendee))!;
    const hand = await this.o.events.hand(record.id, attendee);
    return {
      event: { id: record.id, title: record.title, code: record.code },
      agenda: this.info(record).agenda,
      clock: record.clock,
      name: me.name,
      ...(hand && hand.state !== 'withdrawn' ? { hand: { id: hand.id, state: hand.state, text: hand.text } } : {}),
      messages: (await this.o.events.messagesFor(record.id, attendee, MESSAGES_SHOWN)).map((m) => ({ id: m.id, text: m.text, at: m.at, personal: m.attendee !== null })),
      ...(this.shadows.has(attendee) ? { shadow: { ...this.shadows.get(attendee)!.shadow.state, id: this.shadows.get(attendee)!.recordId } } : {}),
      now: now.toISOString(),
    };
  }

  private async eventFor(attendee: string): Promise<EventRecord> {
    const record = await this.o.events.eventOf(attendee);
    if (!record) throw new WorkshopError(409, 'You have not joined an event: join one with its code first.');
    if (record.clock.endedAt) throw new WorkshopError(409, 'The event has ended.');
    return record;
  }

  async raiseHand(attendee: string, text: string, where: { lesson?: string; step?: string }): Promise<AttendeeEventState> {
    const record = await this.eventFor(attendee);
    const lesson = where.lesson && this.o.lessons.has(where.lesson) ? where.lesson : (record.lessons[record.clock.lessonIndex] ?? '');
    const step = where.step && this.o.lessons.get(lesson)?.steps.some((s) => s.id === where.step) ? where.step : undefined;
    await this.o.events.raiseHand(record.id, attendee, { lesson, ...(step ? { step } : {}) }, text.trim().slice(0, MAX_TEXT));
    await this.helpChanged(record, attendee);
    return (await this.attendeeState(attendee))!;
  }

  async lowerHand(attendee: string): Promise<AttendeeEventState> {
    const record = await this.eventFor(attendee);
    const hand = await this.o.events.hand(record.id, attendee);
    if (hand && (hand.state === 'waiting' || hand.state === 'on-the-way')) await this.o.events.setHelpState(hand.id, 'withdrawn');
    await this.helpChanged(record, attendee);
    return (await this.attendeeState(attendee))!;
  }

  /** The instructor answers a hand: on the way, or resolved. */
  async setHelp(eventId: string, helpId: number, state: Extract<HelpState, 'on-the-way' | 'resolved'>): Promise<HelpRequest[]> {
    const record = await this.event(eventId);
    const help = await this.o.events.help(helpId);
    if (!help || help.eventId !== record.id) throw new WorkshopError(404, `event ${eventId} has no help request ${helpId}`);
    await this.o.events.setHelpState(helpId, state);
    await this.helpChanged(record, help.attendee);
    return await this.helpQueue(record);
  }

  async broadcast(eventId: string, text: string): Promise<void> {
    const record = await this.event(eventId);
    await this.o.events.addMessage(record.id, null, checkedText(text));
    await this.pushToEvent(record.id);
  }

  async hint(eventId: string, attendee: string, text: string): Promise<void> {
    const record = await this.event(eventId);
    if (!await this.o.events.attendee(record.id, attendee)) throw new WorkshopError(404, 'that attendee has not joined this event');
    await this.o.events.addMessage(record.id, attendee, checkedText(text));
    await this.pushTo(attendee);
  }

  /** What the export reads: the event's attendees, their check attempts, its lessons' steps. */
  async exportData(record: EventRecord): Promise<{ attendees: EventAttendee[]; attempts: AttemptRecord[]; lessons: Array<{ slug: string; steps: string[] }> }> {
    return {
      attendees: await this.o.events.attendees(record.id),
      attempts: await this.o.events.eventAttempts(record),
      lessons: record.lessons.map((slug) => ({ slug, steps: this.o.lessons.get(slug)?.steps.map((s) => s.id) ?? [] })),
    };
  }

  // ------------------------------------------------------------------ shadowing

  /** An instructor starts watching: the attendee's page says so at once. Replaces an earlier one. */
  async shadowStarted(eventId: string, attendee: string, shadow: Shadow): Promise<void> {
    const record = await this.event(eventId);
    if (!await this.o.events.attendee(record.id, attendee)) throw new WorkshopError(404, 'that attendee has not joined this event');
    this.shadows.get(attendee)?.shadow.end('another shadowing session took over');
    const recordId = await this.o.events.startShadow(record.id, attendee, this.o.node);
    // Another session may have started while this one's record was made: the later one takes over.
    const meanwhile = this.shadows.get(attendee);
    if (meanwhile && meanwhile.shadow !== shadow) meanwhile.shadow.end('another shadowing session took over');
    this.shadows.set(attendee, { shadow, recordId });
    await this.pushTo(attendee);
  }

  /** The shadow's side changed (asked for the keyboard, or gave it back). */
  async shadowChanged(attendee: string): Promise<void> {
    await this.pushTo(attendee);
  }

  async shadowEnded(attendee: string, shadow: Shadow): Promise<void> {
    const current = this.shadows.get(attendee);
    if (current?.shadow !== shadow) return;
    this.shadows.delete(attendee);
    await this.o.events.endShadow(current.recordId);
    await this.pushTo(attendee);
  }

  /**
   * The attendee answers "may the instructor type?" for the shadowing session their page shows
   * (`id`): only their yes to that very session gives the keyboard.
   */
  async answerKeyboard(attendee: string, allow: boolean, id: number): Promise<AttendeeEventState> {
    const current = this.shadows.get(attendee);
    if (!current) throw new WorkshopError(409, 'Nobody is watching your terminal.');
    if (current.recordId !== id) throw new WorkshopError(409, 'That shadowing session is over: look at the one your page shows now.');
    if (allow && current.shadow.state.keyboard === 'none') throw new WorkshopError(409, 'The instructor has not asked to type.');
    current.shadow.setKeyboard(allow ? 'allowed' : 'none');
    if (allow) await this.o.events.shadowKeyboard(current.recordId);
    await this.pushTo(attendee);
    return (await this.attendeeState(attendee))!;
  }

  /** The attendee ends the shadowing. */
  async endShadowFor(attendee: string): Promise<AttendeeEventState | null> {
    this.shadows.get(attendee)?.shadow.end('the attendee ended it');
    return await this.attendeeState(attendee) ?? null;
  }

  // ------------------------------------------------------------------ the grid

  async snapshot(eventId: string, now = new Date()): Promise<DashboardSnapshot> {
    const record = await this.event(eventId);
    const rows = (await Promise.all((await this.o.events.attendees(record.id)).map((a) => this.row(record, a, now)))).sort(needsHelpFirst);
    return { event: this.info(record), steps: this.stepsOf(record), terminals: this.terminalsOf(record), rows, help: await this.helpQueue(record), warm: this.warmStatus(record, now.getTime()), now: now.toISOString() };
  }

  private async helpQueue(record: EventRecord): Promise<HelpRequest[]> {
    const names = new Map((await this.o.events.attendees(record.id)).map((a) => [a.attendee, a.name]));
    return (await this.o.events.openHelp(record.id)).map((h: HelpRecord) => ({
      id: h.id,
      attendee: h.attendee,
      name: names.get(h.attendee) ?? '?',
      lesson: h.lesson,
      ...(h.step ? { step: h.step } : {}),
      text: h.text,
      state: h.state,
      createdAt: h.createdAt,
      updatedAt: h.updatedAt,
    }));
  }

  /** One attendee's row: their cells on the current lesson's steps, where they are, whether they are stuck. */
  private async row(record: EventRecord, who: EventAttendee, now: Date): Promise<GridRow> {
    const lesson = this.currentLesson(record);
    const cells: Record<string, GridCell> = {};
    let currentStep: string | undefined;
    let onStepSince = [who.joinedAt, record.clock.lessonStartedAt].sort().at(-1)!;
    let stuck: string | undefined;
    if (lesson) {
      const progress = (await this.o.progress.lessonProgress(who.attendee, lesson.slug)).steps;
      const attempts = await this.o.events.attempts(who.attendee, lesson.slug);
      for (const step of lesson.steps) {
        const mine = attempts.filter((a) => a.step === step.id);
        const firstPass = mine.find((a) => a.passed);
        const stored = progress[step.id];
        const passed = Boolean(firstPass) || stored?.status === 'passed' || stored?.status === 'solved';
        let failuresInARow = 0;
        if (!passed) for (const a of mine) failuresInARow = a.passed ? 0 : failuresInARow + 1;
        const last = mine.at(-1);
        const feedback = last?.feedback ?? stored?.feedback;
        cells[step.id] = {
          state: passed ? 'passed' : (stored?.attempts ?? mine.length) > 0 ? 'failed' : 'todo',
          ...(passed ? { how: firstPass?.how ?? (stored?.status === 'solved' ? 'solve' : 'check') } : {}),
          attempts: Math.max(stored?.attempts ?? 0, mine.length),
          failuresInARow,
          ...(feedback ? { lastFeedback: feedback } : {}),
          ...(passed && (firstPass?.at ?? stored?.passedAt) ? { passedAt: firstPass?.at ?? stored?.passedAt } : {}),
        };
        if (passed) {
          const at = cells[step.id]!.passedAt;
          if (at && at > onStepSince) onStepSince = at;
        } else currentStep ??= step.id;
      }
      if (currentStep) {
        const cell = cells[currentStep]!;
        const shareMs = (lesson.duration * 60_000) / Math.max(1, lesson.steps.length);
        // The lesson's pauses are taken as during this step (an instructor's break is nobody's being stuck).
        const pausedNow = record.clock.pausedAt ? now.getTime() - Date.parse(record.clock.pausedAt) : 0;
        const onStepMs = Math.max(0, now.getTime() - Date.parse(onStepSince) - record.clock.pausedMs - pausedNow);
        if (cell.failuresInARow >= STUCK_FAILURES) stuck = `${cell.failuresInARow} failed checks in a row on "${lesson.steps.find((s) => s.id === currentStep)!.title}"`;
        else if (!record.clock.pausedAt && onStepMs > shareMs) stuck = `${minutesOf(onStepMs)} min on "${lesson.steps.find((s) => s.id === currentStep)!.title}" (its share of the agenda: ${Math.max(1, minutesOf(shareMs))} min)`;
      }
    }
    const hand = await this.o.events.hand(record.id, who.attendee);
    const node = await this.o.nodeOf?.(who.attendee);
    return {
      attendee: who.attendee,
      name: who.name,
      joinedAt: who.joinedAt,
      cells,
      ...(currentStep ? { currentStep, onStepSince } : {}),
      ...(stuck ? { stuck } : {}),
      // Alone in the room, its pages are all here: no other node's to ask for.
      online: (this.pages.get(who.attendee)?.size ?? 0) > 0 || (!this.o.alone && (await this.o.events.onlineElsewhere(who.attendee, this.o.node))),
      ...(hand && hand.state !== 'withdrawn' && hand.state !== 'resolved' ? { hand: hand.state } : {}),
      ...(node ? { node } : {}),
    };
  }

  // ------------------------------------------------------------------ changes → streams

  /**
   * Another node of the room changed something (postgres.ts' feed): what this node shows for it —
   * its dashboards' rows, its attendees' pages — is read again. A node with nothing open for the
   * change reads nothing.
   */
  async roomChanged(change: RoomChange): Promise<void> {
    switch (change.kind) {
      case 'progress':
        return this.stepRecorded(change.attendee, change.lesson);
      case 'joined':
      case 'presence':
      case 'help': {
        if (!this.dashboards.get(change.event)?.size && !this.pages.has(change.attendee)) return;
        const record = await this.o.events.get(change.event);
        if (!record) return;
        if (change.kind === 'help') return this.helpChanged(record, change.attendee);
        await this.rowChanged(record, change.attendee);
        if (change.kind === 'joined') await this.pushTo(change.attendee);
        return;
      }
      case 'message': {
        return change.attendee !== null ? this.pushTo(change.attendee) : this.pushToEvent(change.event);
      }
      case 'clock': {
        const record = await this.o.events.get(change.event);
        if (record) await this.clockChanged(record, change.newLesson);
        return;
      }
      default:
        return;
    }
  }

  /** This node was taken for dead and is back (placement.ts): the pages open here are online again. */
  async presenceAgain(): Promise<void> {
    for (const attendee of [...this.pages.keys()]) {
      const record = await this.o.events.eventOf(attendee);
      if (record && this.pages.has(attendee)) await this.o.events.setPresence(this.o.node, attendee, record.id, true);
    }
  }

  /** The room's feed was lost for a while: every dashboard and page here gets the state afresh. */
  async resync(): Promise<void> {
    for (const [eventId, streams] of this.dashboards) {
      if (streams.size === 0) continue;
      const snapshot = await this.snapshot(eventId);
      for (const row of snapshot.rows) this.rememberRow(eventId, row);
      this.toDashboards(eventId, { type: 'snapshot', snapshot });
    }
    for (const attendee of [...this.pages.keys()]) await this.pushTo(attendee);
  }

  /** A check or a solve was recorded: the attendee's row changes on their event's dashboards. */
  async stepRecorded(attendee: string, lesson: string): Promise<void> {
    if (![...this.dashboards.values()].some((streams) => streams.size > 0)) return;
    const record = await this.o.events.eventOf(attendee);
    if (!record || record.clock.endedAt || record.lessons[record.clock.lessonIndex] !== lesson) return;
    await this.rowChanged(record, attendee);
  }

  private async rowChanged(record: EventRecord, attendee: string): Promise<void> {
    const streams = this.dashboards.get(record.id);
    if (!streams?.size) return;
    const who = await this.o.events.attendee(record.id, attendee);
    if (!who) return;
    const row = await this.row(record, who, new Date());
    this.rememberRow(record.id, row);
    this.toDashboards(record.id, { type: 'row', row });
  }

  /**
   * Notes the row as the dashboards have it; true when it differs from the last one sent. The
   * minutes in "stuck" move on every minute by themselves: only a change besides them counts.
   */
  private rememberRow(eventId: string, row: GridRow): boolean {
    const key = `${eventId}/${row.attendee}`;
    const text = JSON.stringify({ ...row, stuck: row.stuck?.replace(/^\d+ min/, '') });
    if (this.sentRows.get(key) === text) return false;
    this.sentRows.set(key, text);
    return true;
  }

  private async helpChanged(record: EventRecord, attendee: string): Promise<void> {
    await this.pushTo(attendee);
    await this.rowChanged(record, attendee);
    if (this.dashboards.get(record.id)?.size) this.toDashboards(record.id, { type: 'help', help: await this.helpQueue(record) });
  }

  private async eventChanged(record: EventRecord, newLesson: boolean): Promise<void> {
    await this.pushToEvent(record.id);
    if (!this.dashboards.get(record.id)?.size) return;
    // A new lesson is a new grid: a whole snapshot.
    if (newLesson) this.toDashboards(record.id, { type: 'snapshot', snapshot: await this.snapshot(record.id) });
    else this.toDashboards(record.id, { type: 'event', event: this.info(record), steps: this.stepsOf(record), terminals: this.terminalsOf(record), now: new Date().toISOString() });
  }

  private toDashboards(eventId: string, message: DashboardEvent): void {
    const text = JSON.stringify(message); // once, however many dashboards are open
    for (const stream of this.dashboards.get(eventId) ?? []) stream.sendJson(text);
  }

  private async pushTo(attendee: string): Promise<void> {
    const streams = this.pages.get(attendee);
    if (!streams?.size) return;
    const text = JSON.stringify(await this.attendeeState(attendee) ?? null);
    for (const stream of streams) stream.sendJson(text);
  }

  /** Every page of the event's attendees open here. */
  private async pushToEvent(eventId: string): Promise<void> {
    for (const { attendee } of await this.o.events.attendees(eventId)) await this.pushTo(attendee);
  }

  /** Time passes: rows whose "stuck" changed are sent again. */
  private async refreshStuck(): Promise<void> {
    const now = new Date();
    for (const [eventId, streams] of this.dashboards) {
      if (streams.size === 0) continue;
      const record = await this.o.events.get(eventId);
      if (!record || record.clock.endedAt) continue;
      for (const who of await this.o.events.attendees(eventId)) {
        const row = await this.row(record, who, now);
        if (this.rememberRow(eventId, row)) this.toDashboards(eventId, { type: 'row', row });
      }
    }
  }

  async watchDashboard(eventId: string, stream: SseStream): Promise<void> {
    const snapshot = await this.snapshot(eventId);
    let streams = this.dashboards.get(eventId);
    if (!streams) this.dashboards.set(eventId, (streams = new Set()));
    streams.add(stream);
    for (const row of snapshot.rows) this.rememberRow(eventId, row);
    stream.send({ type: 'snapshot', snapshot } satisfies DashboardEvent);
    stream.onClose(() => streams.delete(stream));
  }

  /** An attendee's page: their event's state now and at every change; their row shows them online. */
  /** Whether this attendee may open one more page's stream. */
  pageSlotFree(attendee: string): boolean {
    return (this.pages.get(attendee)?.size ?? 0) < MAX_PAGES_PER_ATTENDEE;
  }

  async watchAttendee(attendee: string, stream: SseStream): Promise<void> {
    let streams = this.pages.get(attendee);
    if (!streams) this.pages.set(attendee, (streams = new Set()));
    streams.add(stream);
    // Decided before any await: of two pages opening at once, one is the first.
    const first = streams.size === 1;
    // Registered before any await too: a page that closes (or a read that fails) meanwhile is let go.
    stream.onClose(() => {
      streams.delete(stream);
      if (streams.size > 0) return;
      this.pages.delete(attendee);
      this.inBackground('updating a row', (async () => {
        const record = await this.o.events.eventOf(attendee);
        if (!record) return;
        // Another page may have opened meanwhile: only the last close says "offline".
        if (!this.o.alone && !this.pages.has(attendee)) await this.o.events.setPresence(this.o.node, attendee, record.id, false);
        await this.rowChanged(record, attendee);
      })());
    });
    stream.send(await this.attendeeState(attendee) ?? null);
    const record = await this.o.events.eventOf(attendee);
    if (!record || !first || !streams.has(stream)) return;
    if (!this.o.alone) await this.o.events.setPresence(this.o.node, attendee, record.id, true);
    await this.rowChanged(record, attendee);
  }
}

function checkedText(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new WorkshopError(400, 'text: the message is empty');
  if (trimmed.length > MAX_TEXT) throw new WorkshopError(400, `text: at most ${MAX_TEXT} characters`);
  return trimmed;
}
