/**
 * The attendee's side of an event (components/EventBar.astro): the state comes from the server's
 * event stream (GET /api/event/stream, server-sent events) at every change — a broadcast, a hint,
 * the instructor on the way, the room moved on — and the clock counts down from the server's time.
 */
import { clockLeftMs, formatMinutes, type AttendeeEventState } from '../../protocol/workshop.ts';

const HAND_WORDS = { waiting: 'Hand raised: the instructor will come to you.', 'on-the-way': 'The instructor is on the way.', resolved: '', withdrawn: '' } as const;

export function initEventBar(): void {
  const bar = document.querySelector<HTMLElement>('.event-bar');
  if (!bar) return;
  const title = bar.querySelector<HTMLElement>('.event-title')!;
  const lessonLink = bar.querySelector<HTMLAnchorElement>('.event-lesson')!;
  const clock = bar.querySelector<HTMLElement>('.event-clock')!;
  const handButton = bar.querySelector<HTMLButtonElement>('.hand-button')!;
  const handLabel = bar.querySelector<HTMLElement>('.hand-label')!;
  const dialog = document.querySelector<HTMLDialogElement>('.hand-dialog')!;
  const handState = dialog.querySelector<HTMLElement>('.hand-state')!;
  const handText = dialog.querySelector<HTMLInputElement>('#hand-text')!;
  const lowerButton = dialog.querySelector<HTMLButtonElement>('.hand-lower')!;
  const raiseButton = dialog.querySelector<HTMLButtonElement>('.hand-raise')!;
  const banner = document.querySelector<HTMLElement>('.event-banner')!;
  const bannerText = banner.querySelector<HTMLElement>('.event-banner-text')!;
  const shadowNotice = document.querySelector<HTMLElement>('.shadow-notice')!;
  const pageLesson = document.querySelector<HTMLElement>('[data-lesson]')?.dataset.lesson;
  const seenKey = 'opslab-seen-message';

  let state: AttendeeEventState | null = null;
  let skew = 0; // server time − this browser's time
  let ticker: number | undefined;

  const tick = () => {
    if (!state) return;
    if (state.clock.endedAt) return void (clock.textContent = 'Event ended');
    const left = clockLeftMs(state.agenda, state.clock, Date.now() + skew);
    clock.textContent = `${state.clock.pausedAt ? '⏸ ' : ''}${left < 0 ? 'over by ' : ''}${formatMinutes(left)}${left >= 0 ? ' left' : ''}`;
    clock.dataset.over = String(left < 0);
  };

  const render = (next: AttendeeEventState | null) => {
    state = next;
    bar.hidden = !next;
    if (!next) return void clearInterval(ticker);
    skew = Date.parse(next.now) - Date.now();
    title.textContent = next.event.title;
    const current = next.agenda[next.clock.lessonIndex];
    if (current) {
      lessonLink.href = `/lessons/${current.lesson}/`;
      const here = current.lesson === pageLesson;
      lessonLink.textContent = here ? current.title : `The room is on: ${current.title} →`;
      lessonLink.dataset.elsewhere = String(!here);
      if (here) lessonLink.setAttribute('aria-current', 'page');
      else lessonLink.removeAttribute('aria-current');
    }
    const hand = next.hand && (next.hand.state === 'waiting' || next.hand.state === 'on-the-way') ? next.hand : undefined;
    handLabel.textContent = hand ? (hand.state === 'on-the-way' ? 'Instructor on the way' : 'Hand raised') : 'Raise hand';
    handButton.dataset.hand = hand?.state ?? 'down';
    handButton.disabled = Boolean(next.clock.endedAt);
    handState.textContent = hand ? HAND_WORDS[hand.state] : '';
    lowerButton.hidden = !hand;
    raiseButton.textContent = hand ? 'Update' : 'Raise hand';
    // The newest message not dismissed yet, in the banner.
    const latest = next.messages.at(-1);
    if (latest && sessionStorage.getItem(seenKey) !== `${next.event.id}/${latest.id}`) {
      bannerText.textContent = `${latest.personal ? 'Hint from the instructor: ' : 'From the instructor: '}${latest.text}`;
      banner.dataset.id = `${next.event.id}/${latest.id}`;
      banner.hidden = false;
    }
    renderShadow(next);
    tick();
    clearInterval(ticker);
    ticker = window.setInterval(tick, 1000);
  };

  const renderShadow = (next: AttendeeEventState) => {
    const shadow = next.shadow;
    shadowNotice.hidden = !shadow;
    if (!shadow) return;
    const where = `your “${shadow.terminal}” terminal${shadow.lesson === pageLesson ? '' : ` in ${next.agenda.find((a) => a.lesson === shadow.lesson)?.title ?? shadow.lesson}`}`;
    shadowNotice.querySelector('.shadow-notice-text')!.textContent =
      shadow.keyboard === 'requested' ? `The instructor is watching ${where} and asks to type in it.` : shadow.keyboard === 'allowed' ? `The instructor can type in ${where}.` : `The instructor is watching ${where}.`;
    shadowNotice.dataset.keyboard = shadow.keyboard;
    shadowNotice.querySelector<HTMLButtonElement>('.shadow-allow')!.hidden = shadow.keyboard !== 'requested';
    shadowNotice.querySelector<HTMLButtonElement>('.shadow-deny')!.hidden = shadow.keyboard === 'none';
    shadowNotice.querySelector<HTMLButtonElement>('.shadow-deny')!.textContent = shadow.keyboard === 'allowed' ? 'Take the keyboard back' : 'Don’t allow';
  };
  const answerShadow = (init: RequestInit) =>
    fetch('/api/event/shadow', { ...init, credentials: 'same-origin' })
      .then(async (response) => {
        const body = (await response.json().catch(() => null)) as AttendeeEventState | null;
        if (response.ok && body) render(body);
      })
      .catch(() => undefined);
  // The answer names the shadowing session this page shows: a yes never goes to another one.
  const json = (allow: boolean): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ allow, id: state?.shadow?.id }) });
  shadowNotice.querySelector('.shadow-allow')!.addEventListener('click', () => void answerShadow(json(true)));
  shadowNotice.querySelector('.shadow-deny')!.addEventListener('click', () => void answerShadow(json(false)));
  shadowNotice.querySelector('.shadow-end')!.addEventListener('click', () => void answerShadow({ method: 'DELETE' }));

  banner.querySelector('.event-banner-close')!.addEventListener('click', () => {
    sessionStorage.setItem(seenKey, banner.dataset.id ?? '');
    banner.hidden = true;
  });

  handButton.addEventListener('click', () => {
    if (state?.hand && (state.hand.state === 'waiting' || state.hand.state === 'on-the-way')) handText.value = state.hand.text;
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    const action = dialog.returnValue;
    if (action !== 'raise' && action !== 'lower') return;
    const step = location.hash.startsWith('#step-') ? location.hash.slice(6) : undefined;
    const init: RequestInit =
      action === 'raise'
        ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: handText.value, ...(pageLesson ? { lesson: pageLesson } : {}), ...(step ? { step } : {}) }) }
        : { method: 'DELETE' };
    handButton.disabled = true;
    fetch('/api/event/hand', { ...init, credentials: 'same-origin' })
      .then(async (response) => {
        const body = (await response.json().catch(() => null)) as AttendeeEventState | { error?: string } | null;
        if (!response.ok) throw new Error((body as { error?: string } | null)?.error ?? `HTTP ${response.status}`);
        render(body as AttendeeEventState);
      })
      .catch((error: Error) => {
        bannerText.textContent = `Your hand could not be ${action === 'raise' ? 'raised' : 'lowered'}: ${error.message}`;
        banner.hidden = false;
      })
      .finally(() => (handButton.disabled = Boolean(state?.clock.endedAt)));
  });

  // Only attendees of an event hold a stream open: a self-paced page asks once and is done.
  fetch('/api/event', { credentials: 'same-origin', cache: 'no-store' })
    .then((response) => (response.ok ? (response.json() as Promise<AttendeeEventState | null>) : null))
    .then((first) => {
      if (!first) return;
      render(first);
      const stream = new EventSource('/api/event/stream');
      stream.onmessage = (message) => render(JSON.parse(message.data as string) as AttendeeEventState | null);
    })
    .catch(() => undefined);
}
