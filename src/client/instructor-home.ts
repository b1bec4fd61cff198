/** /instructor: sign in with the token, list the events, create one. */
import { formatJoinCode, type EventInfo } from '../../protocol/workshop.ts';
import { instructorCall, SignedOut } from './instructor-api.ts';

export function initInstructorHome(): void {
  const signIn = document.querySelector<HTMLElement>('.sign-in')!;
  const signedIn = document.querySelector<HTMLElement>('.signed-in')!;
  const list = document.querySelector<HTMLUListElement>('.event-list')!;
  const empty = document.querySelector<HTMLElement>('.events-empty')!;
  const next = new URLSearchParams(location.search).get('next');

  const showEvents = async () => {
    try {
      const { events } = await instructorCall<{ events: EventInfo[] }>('/api/instructor/events');
      signIn.hidden = true;
      signedIn.hidden = false;
      empty.hidden = events.length > 0;
      list.replaceChildren(
        ...events.map((event) => {
          const item = document.createElement('li');
          const link = Object.assign(document.createElement('a'), { href: `/instructor/events/${event.id}`, textContent: event.title });
          const projector = Object.assign(document.createElement('a'), { href: `/instructor/events/${event.id}/projector`, textContent: 'projector' });
          const about = document.createElement('span');
          about.className = 'muted';
          about.textContent = ` · ${formatJoinCode(event.code)} · ${new Date(event.startsAt).toLocaleString()}${event.clock.endedAt ? ' · ended' : ''} · `;
          item.append(link, about, projector);
          return item;
        }),
      );
    } catch (error) {
      if (!(error instanceof SignedOut)) throw error;
      signIn.hidden = false;
      signedIn.hidden = true;
      document.querySelector<HTMLInputElement>('#token')!.focus();
    }
  };

  const signInForm = document.querySelector<HTMLFormElement>('.sign-in-form')!;
  signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const result = signInForm.querySelector<HTMLElement>('.form-result')!;
    const token = signInForm.querySelector<HTMLInputElement>('#token')!.value;
    result.textContent = 'Signing in…';
    fetch('/api/instructor/login', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
      .then(async (response) => {
        const body = (await response.json().catch(() => ({}))) as { error?: string };
        if (!response.ok) throw new Error(body.error ?? `the server answered ${response.status}`);
        result.textContent = '';
        if (next?.startsWith('/instructor/')) location.assign(next);
        else await showEvents();
      })
      .catch((error: Error) => (result.textContent = error.message));
  });

  const createForm = document.querySelector<HTMLFormElement>('.create-form')!;
  const starts = createForm.querySelector<HTMLInputElement>('#event-starts')!;
  // Now, to the minute, in local time: what datetime-local expects.
  const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000);
  starts.value = now.toISOString().slice(0, 16);
  createForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const result = createForm.querySelector<HTMLElement>('.form-result')!;
    const data = new FormData(createForm);
    const minutes = String(data.get('minutes') ?? '');
    const body = {
      title: String(data.get('title') ?? ''),
      lessons: data.getAll('lessons').map(String),
      starts: new Date(String(data.get('starts'))).toISOString(),
      expected: Number(data.get('expected')),
      ...(minutes ? { minutes: Number(minutes) } : {}),
    };
    result.textContent = 'Creating…';
    instructorCall<{ event: EventInfo; warnings: string[] }>('/api/instructor/events', { method: 'POST', body })
      .then(({ event: created, warnings }) => {
        result.textContent = `Created: code ${formatJoinCode(created.code)}.${warnings.map((w) => ` Note: ${w}.`).join('')}`;
        return showEvents();
      })
      .catch((error: Error) => (result.textContent = error.message));
  });

  document.querySelector<HTMLFormElement>('.sign-out-form')!.addEventListener('submit', (event) => {
    event.preventDefault();
    void fetch('/api/instructor/logout', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}' }).then(() => showEvents());
  });

  void showEvents();
}
