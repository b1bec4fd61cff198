/**
 * The projector page: the join code in letters a back row can read, the link and its QR code
 * (qrcode, drawn as SVG here), the agenda with the room's lesson, the time left. Follows the
 * dashboard's stream, so "next lesson" and pauses show without a reload.
 */
import QRCode from 'qrcode';
import { clockLeftMs, formatJoinCode, formatMinutes, type DashboardEvent, type EventInfo } from '../../protocol/workshop.ts';
import { eventIdFromPath, followStream, instructorCall, SignedOut, toSignIn } from './instructor-api.ts';

export function initProjector(): void {
  const id = eventIdFromPath();
  const main = document.querySelector<HTMLElement>('.projector')!;
  const $ = (selector: string) => main.querySelector<HTMLElement>(selector)!;
  let event: EventInfo | undefined;
  let skew = 0;

  const render = () => {
    if (!event) return;
    document.title = `Join ${event.title} — Opslab`;
    $('.projector-title').textContent = event.title;
    const url = `${location.origin}/join?code=${event.code}`;
    $('.projector-link').textContent = `${location.host}/join`;
    $('.projector-code').textContent = formatJoinCode(event.code);
    $('.projector-warning').hidden = !['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
    void QRCode.toString(url, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }).then((svg) => ($('.projector-qr').innerHTML = svg));
    $('.projector-agenda').replaceChildren(
      ...event.agenda.map((item, i) => {
        const li = document.createElement('li');
        li.textContent = `${item.title} · ${item.minutes} min`;
        if (i === event!.clock.lessonIndex && !event!.clock.endedAt) li.setAttribute('aria-current', 'step');
        return li;
      }),
    );
    tick();
    main.setAttribute('aria-busy', 'false');
  };
  const tick = () => {
    if (!event) return;
    const left = clockLeftMs(event.agenda, event.clock, Date.now() + skew);
    $('.projector-clock').textContent = event.clock.endedAt ? 'The workshop has ended. Thank you!' : `${event.clock.pausedAt ? 'Paused · ' : ''}${formatMinutes(left)} ${left < 0 ? 'over' : 'left'} on this lesson`;
  };

  instructorCall<{ event: EventInfo; now: string }>(`/api/instructor/events/${id}`)
    .then((first) => {
      event = first.event;
      skew = Date.parse(first.now) - Date.now();
      render();
      followStream(`/api/instructor/events/${id}/stream`, (message) => {
        const data = message as DashboardEvent;
        if (data.type === 'snapshot') [event, skew] = [data.snapshot.event, Date.parse(data.snapshot.now) - Date.now()];
        else if (data.type === 'event') [event, skew] = [data.event, Date.parse(data.now) - Date.now()];
        else return;
        render();
      }, () => undefined); // the room's screen reconnects quietly
      setInterval(tick, 1000);
    })
    .catch((error: Error) => (error instanceof SignedOut ? toSignIn() : ($('.projector-title').textContent = `This event could not be loaded: ${error.message}`)));
}
