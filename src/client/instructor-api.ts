/** The instructor pages' calls to /api/instructor: JSON in and out; a 401 sends the page to sign-in. */
export class SignedOut extends Error {}

export async function instructorCall<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    cache: 'no-store',
    ...(init.body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : {}),
  });
  const body = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (response.status === 401) throw new SignedOut(body.error ?? 'sign in first');
  if (!response.ok) throw new Error(body.error ?? `the server answered ${response.status}`);
  return body;
}

/** The dashboard and projector pages: back to /instructor to sign in, then here again. */
export function toSignIn(): void {
  location.assign(`/instructor?next=${encodeURIComponent(location.pathname)}`);
}

/** The event id in /instructor/events/<id>[/projector]. */
export function eventIdFromPath(): string {
  return /^\/instructor\/events\/([0-9a-f]{12})/.exec(location.pathname)?.[1] ?? '';
}

/**
 * Follows an instructor stream. EventSource retries by itself after a dropped connection, but
 * gives up for good on an answer that is not a stream (a 401 once the cookie expired, a proxy's
 * 502 while the server restarts): then this asks again, sending a signed-out instructor to sign
 * in, and otherwise reopens it a little later, saying so meanwhile.
 */
export function followStream(path: string, onData: (data: unknown) => void, say: (message: string) => void): void {
  const open = () => {
    const stream = new EventSource(path);
    stream.onmessage = (message) => onData(JSON.parse(message.data as string));
    stream.onerror = () => {
      if (stream.readyState !== EventSource.CLOSED) return say('Connection lost: reconnecting…');
      say('Connection lost: trying again…');
      setTimeout(() => {
        instructorCall(path.replace(/\/stream$/, ''))
          .then(open)
          .catch((error: Error) => (error instanceof SignedOut ? toSignIn() : open()));
      }, 2000);
    };
    stream.onopen = () => say('');
  };
  open();
}
