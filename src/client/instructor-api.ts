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
