/**
 * The instructor's live dashboard (/instructor/events/<id>): one snapshot, then every change as it
 * happens over server-sent events (a row, the help queue, the clock). Renders at most once a
 * frame however many checks arrive, and sorts whoever needs help to the top (needsHelpFirst).
 */
import {
  clockLeftMs,
  formatJoinCode,
  formatMinutes,
  needsHelpFirst,
  type DashboardEvent,
  type DashboardSnapshot,
  type GridCell,
  type GridRow,
  type HelpRequest,
} from '../../protocol/workshop.ts';
import { eventIdFromPath, followStream, instructorCall, SignedOut, toSignIn } from './instructor-api.ts';
import { openShadow } from './shadow-view.ts';

const SVG = 'http://www.w3.org/2000/svg';

function cellText(cell: GridCell | undefined): string {
  if (!cell || cell.state === 'todo') return '';
  if (cell.state === 'failed') return `✗ ${cell.failuresInARow || cell.attempts}`;
  return cell.how === 'help' ? '✓+' : cell.how === 'solve' ? '✓s' : '✓';
}

function cellWords(cell: GridCell | undefined): string {
  if (!cell || cell.state === 'todo') return 'not tried';
  if (cell.state === 'failed') return `${cell.attempts} failed check${cell.attempts === 1 ? '' : 's'}${cell.lastFeedback ? `; last: ${cell.lastFeedback}` : ''}`;
  return cell.how === 'help' ? 'passed with your help' : cell.how === 'solve' ? 'solved for them ("Solve it for me")' : 'passed';
}

export function initDashboard(): void {
  const id = eventIdFromPath();
  const main = document.querySelector<HTMLElement>('.dashboard')!;
  const $ = <T extends Element = HTMLElement>(selector: string) => main.querySelector<T>(selector)!;
  const result = $('.dash-result');
  let snapshot: DashboardSnapshot | undefined;
  const rows = new Map<string, GridRow>();
  let help: HelpRequest[] = [];
  let skew = 0;
  let frame = 0;

  $<HTMLAnchorElement>('.dash-projector').href = `/instructor/events/${id}/projector`;
  $<HTMLAnchorElement>('.dash-csv').href = `/api/instructor/events/${id}/export.csv`;
  $<HTMLAnchorElement>('.dash-json').href = `/api/instructor/events/${id}/export.json`;

  const act = (what: string, path: string, body: unknown) => {
    result.textContent = `${what}…`;
    return instructorCall(`/api/instructor/events/${id}/${path}`, { method: 'POST', body })
      .then(() => (result.textContent = `${what}: done.`))
      .catch((error: Error) => (error instanceof SignedOut ? toSignIn() : (result.textContent = `${what}: ${error.message}`)));
  };

  const renderHead = () => {
    if (!snapshot) return;
    const { event } = snapshot;
    document.title = `${event.title} — dashboard — Opslab`;
    $('.dash-title').textContent = event.title;
    $('.dash-code').textContent = formatJoinCode(event.code);
    const item = event.agenda[event.clock.lessonIndex];
    $('.dash-lesson').textContent = item ? `Lesson ${event.clock.lessonIndex + 1} of ${event.agenda.length}: ${item.title}` : '';
    $<HTMLButtonElement>('[data-clock="pause"]').textContent = event.clock.pausedAt ? 'Resume' : 'Pause';
    $<HTMLButtonElement>('[data-clock="next"]').disabled = event.clock.lessonIndex + 1 >= event.agenda.length || Boolean(event.clock.endedAt);
    for (const button of main.querySelectorAll<HTMLButtonElement>('[data-clock]')) if (event.clock.endedAt) button.disabled = true;
    tick();
  };

  const tick = () => {
    if (!snapshot) return;
    const { event } = snapshot;
    const left = clockLeftMs(event.agenda, event.clock, Date.now() + skew);
    $('.dash-left').textContent = event.clock.endedAt ? 'ended' : `${event.clock.pausedAt ? 'paused, ' : ''}${formatMinutes(left)} ${left < 0 ? 'over' : 'left'}`;
    renderPace();
  };

  const renderWarm = () => {
    if (!snapshot) return;
    const { warm, event } = snapshot;
    const title = event.agenda.find((a) => a.lesson === warm.lesson)?.title ?? warm.lesson;
    const parts: string[] = [];
    if (!warm.active) parts.push(`Sandboxes for “${title}” are made in advance from ${new Date(warm.from).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} (5 minutes before the start).`);
    else if (warm.target === 0 && warm.ready === 0 && warm.services.length === 0) parts.push(`“${title}”: no sandboxes wait in advance (everyone who joined has one, or the lesson cannot be pooled).`);
    else if (warm.target > 0 || warm.ready > 0) parts.push(`${warm.ready} sandbox${warm.ready === 1 ? '' : 'es'} ready for “${title}”${warm.target > warm.ready ? `, filling to ${warm.target}` : ''}.`);
    if (warm.memoryBound) parts.push('Filling stopped short: the machine is at its memory reserve.');
    if (warm.active && warm.services.length > 0) parts.push(`Its shared services (${warm.services.join(', ')}) are being brought up.`);
    $('.warm-words').textContent = parts.join(' ');
    $<HTMLButtonElement>('.warm-now').hidden = warm.active || Boolean(event.clock.endedAt);
  };

  const renderHelp = () => {
    $('.help-count').textContent = help.length ? `(${help.length})` : '';
    $('.help-empty').hidden = help.length > 0;
    $('.help-list').replaceChildren(
      ...help.map((h) => {
        const li = document.createElement('li');
        li.dataset.state = h.state;
        const who = document.createElement('strong');
        who.textContent = h.name;
        const what = document.createElement('span');
        const waited = formatMinutes(Date.now() + skew - Date.parse(h.createdAt));
        what.textContent = ` ${h.step ? `on ${h.step}` : `in ${h.lesson}`} · ${waited} ago${h.text ? ` — “${h.text}”` : ''}${h.state === 'on-the-way' ? ' · you are on your way' : ''}`;
        li.append(who, what);
        const buttons = document.createElement('span');
        buttons.className = 'help-actions';
        if (h.state === 'waiting') buttons.append(button('On my way', () => act('On my way', `help/${h.id}`, { state: 'on-the-way' }), `On my way to ${h.name}`));
        buttons.append(button('Resolved', () => act('Resolved', `help/${h.id}`, { state: 'resolved' }), `${h.name}'s request is resolved`));
        li.append(buttons);
        return li;
      }),
    );
  };

  const renderPace = () => {
    if (!snapshot) return;
    const { steps, event } = snapshot;
    const chart = $<SVGSVGElement>('.pace-chart');
    const total = rows.size;
    const width = 400 / Math.max(1, steps.length);
    const done = steps.map((s) => [...rows.values()].filter((r) => r.cells[s.id]?.state === 'passed').length);
    const item = event.agenda[event.clock.lessonIndex];
    const lessonMs = (item?.minutes ?? 0) * 60_000 + event.clock.extendedMs;
    const left = clockLeftMs(event.agenda, event.clock, Date.now() + skew);
    const expected = lessonMs > 0 ? Math.min(steps.length, Math.max(0, ((lessonMs - left) / lessonMs) * steps.length)) : 0;
    const shapes: SVGElement[] = [];
    steps.forEach((step, i) => {
      const height = total ? (done[i]! / total) * 110 : 0;
      const bar = document.createElementNS(SVG, 'rect');
      Object.entries({ x: i * width + 4, y: 120 - height, width: width - 8, height, class: 'pace-bar' }).forEach(([k, v]) => bar.setAttribute(k, String(v)));
      const label = document.createElementNS(SVG, 'text');
      Object.entries({ x: i * width + width / 2, y: 135, 'text-anchor': 'middle', class: 'pace-label' }).forEach(([k, v]) => label.setAttribute(k, String(v)));
      label.textContent = `${done[i]}/${total}`;
      shapes.push(bar, label);
    });
    const marker = document.createElementNS(SVG, 'line');
    Object.entries({ x1: expected * width, x2: expected * width, y1: 0, y2: 122, class: 'pace-now' }).forEach(([k, v]) => marker.setAttribute(k, String(v)));
    shapes.push(marker);
    chart.replaceChildren(...shapes);
    const shouldBe = steps[Math.min(steps.length - 1, Math.floor(expected))];
    $('.pace-words').textContent =
      steps.length === 0 ? 'This lesson has no steps.' : `Done per step: ${steps.map((s, i) => `${s.title} ${done[i]} of ${total}`).join(', ')}. By the agenda the room should be ${expected >= steps.length ? 'done with this lesson' : `on “${shouldBe?.title}”`} (the line).`;
  };

  const renderGrid = () => {
    if (!snapshot) return;
    const { steps } = snapshot;
    const head = $('.grid-head');
    head.replaceChildren(
      th('Attendee'),
      ...steps.map((s, i) => {
        const cell = th(String(i + 1));
        cell.title = s.title;
        cell.setAttribute('aria-label', `Step ${i + 1}: ${s.title}`);
        return cell;
      }),
      th('On step for'),
      th('Needs help'),
      th('Actions'),
    );
    // Rows are rebuilt and may move: the focused button is found again by its label.
    const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const focused = active?.dataset.action && active.closest<HTMLElement>('tr[data-attendee]')?.dataset.attendee ? { attendee: active.closest<HTMLElement>('tr[data-attendee]')!.dataset.attendee!, action: active.dataset.action } : null;
    const sorted = [...rows.values()].sort(needsHelpFirst);
    $('.room-count').textContent = `(${sorted.length} joined, ${sorted.filter((r) => r.online).length} online)`;
    $('tbody').replaceChildren(
      ...sorted.map((row) => {
        const tr = document.createElement('tr');
        tr.dataset.attendee = row.attendee;
        if (row.stuck) tr.className = 'stuck';
        const name = document.createElement('th');
        name.scope = 'row';
        name.textContent = row.name;
        if (row.hand === 'waiting' || row.hand === 'on-the-way') {
          const hand = document.createElement('span');
          hand.className = 'hand-badge';
          hand.textContent = row.hand === 'waiting' ? 'hand up' : 'on your way';
          name.append(' ', hand);
        }
        if (!row.online) {
          const off = document.createElement('span');
          off.className = 'muted';
          off.textContent = ' (offline)';
          name.append(off);
        }
        tr.append(name);
        for (const step of steps) {
          const td = document.createElement('td');
          const cell = row.cells[step.id];
          td.dataset.step = step.id;
          td.dataset.state = cell?.state ?? 'todo';
          td.textContent = cellText(cell);
          td.title = `${step.title}: ${cellWords(cell)}`;
          tr.append(td);
        }
        const onStep = document.createElement('td');
        onStep.className = 'on-step';
        if (row.onStepSince) onStep.dataset.since = row.onStepSince;
        onStep.textContent = onStepText(row.onStepSince);
        const stuck = document.createElement('td');
        stuck.textContent = row.stuck ?? '';
        const actions = document.createElement('td');
        actions.className = 'row-actions';
        actions.append(button('Hint', () => openHint(row), `Send ${row.name} a hint`, 'hint'));
        if (row.online) actions.append(button('Watch', () => watch(row), `Watch ${row.name}'s terminal`, 'watch'));
        tr.append(onStep, stuck, actions);
        return tr;
      }),
    );
    if (focused) main.querySelector<HTMLElement>(`tr[data-attendee="${CSS.escape(focused.attendee)}"] [data-action="${focused.action}"]`)?.focus();
  };

  const onStepText = (since: string | undefined) => (since ? formatMinutes(Date.now() + skew - Date.parse(since)) : 'done');

  const render = () => {
    frame = 0;
    renderHead();
    renderWarm();
    renderHelp();
    renderGrid();
    main.setAttribute('aria-busy', 'false');
  };
  const schedule = () => (frame ||= requestAnimationFrame(render));

  const watch = (row: GridRow) => {
    const lesson = snapshot?.event.agenda[snapshot.event.clock.lessonIndex]?.lesson;
    if (!lesson || !snapshot) return;
    openShadow($<HTMLDialogElement>('.shadow-dialog'), { event: id, attendee: row.attendee, name: row.name, lesson, terminal: snapshot.terminals[0] ?? 'main', ...(row.node ? { node: row.node } : {}) });
  };

  const hintDialog = $<HTMLDialogElement>('.hint-dialog');
  let hintFor: GridRow | undefined;
  const openHint = (row: GridRow) => {
    hintFor = row;
    hintDialog.querySelector('.hint-name')!.textContent = row.name;
    hintDialog.querySelector<HTMLInputElement>('#hint-text')!.value = '';
    hintDialog.showModal();
  };
  hintDialog.addEventListener('close', () => {
    const text = hintDialog.querySelector<HTMLInputElement>('#hint-text')!.value.trim();
    if (hintDialog.returnValue === 'send' && hintFor && text) void act(`Hint to ${hintFor.name}`, 'hint', { attendee: hintFor.attendee, text });
  });

  for (const control of main.querySelectorAll<HTMLButtonElement>('[data-clock]')) {
    control.addEventListener('click', () => {
      const action = control.dataset.clock!;
      if (action === 'end' && !confirm('End the event? Attendees can no longer raise hands, and their sandboxes stop after the grace period. Progress is kept.')) return;
      if (action === 'next' && !confirm('Move the room to the next lesson now?')) return;
      const real = action === 'pause' && snapshot?.event.clock.pausedAt ? 'resume' : action;
      void act(control.textContent ?? action, 'clock', { action: real, ...(real === 'extend' ? { minutes: 5 } : {}) });
    });
  }
  $<HTMLButtonElement>('.warm-now').addEventListener('click', () => void act('Warm up now', 'warm', {}));
  const broadcast = $<HTMLFormElement>('.broadcast-form');
  broadcast.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = broadcast.querySelector<HTMLInputElement>('#broadcast-text')!;
    if (!input.value.trim()) return;
    void act('Broadcast', 'broadcast', { text: input.value }).then(() => (input.value = ''));
  });

  const apply = (message: DashboardEvent) => {
    if (message.type === 'snapshot') {
      snapshot = message.snapshot;
      skew = Date.parse(message.snapshot.now) - Date.now();
      rows.clear();
      for (const row of message.snapshot.rows) rows.set(row.attendee, row);
      help = message.snapshot.help;
    } else if (message.type === 'row') rows.set(message.row.attendee, message.row);
    else if (message.type === 'help') help = message.help;
    else if (message.type === 'warm') {
      if (snapshot) snapshot = { ...snapshot, warm: message.warm };
    } else if (snapshot) {
      snapshot = { ...snapshot, event: message.event, steps: message.steps, terminals: message.terminals };
      skew = Date.parse(message.now) - Date.now();
    }
    schedule();
  };

  // First a plain request, which tells a signed-out instructor (an EventSource cannot see a 401).
  instructorCall<DashboardSnapshot>(`/api/instructor/events/${id}`)
    .then((first) => {
      apply({ type: 'snapshot', snapshot: first });
      followStream(`/api/instructor/events/${id}/stream`, (data) => apply(data as DashboardEvent), (message) => (result.textContent = message));
      setInterval(() => {
        tick();
        for (const cell of main.querySelectorAll<HTMLElement>('.on-step[data-since]')) cell.textContent = onStepText(cell.dataset.since);
      }, 1000);
    })
    .catch((error: Error) => {
      if (error instanceof SignedOut) return toSignIn();
      $('.dash-title').textContent = `This event could not be loaded: ${error.message}`;
      main.setAttribute('aria-busy', 'false');
    });
}

function th(text: string): HTMLTableCellElement {
  const cell = document.createElement('th');
  cell.scope = 'col';
  cell.textContent = text;
  return cell;
}

function button(text: string, onClick: () => unknown, label?: string, action?: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  if (action) b.dataset.action = action;
  b.textContent = text;
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', () => void onClick());
  return b;
}
