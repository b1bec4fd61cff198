import type { IncomingMessage } from 'node:http';

/** The value of one cookie of a request (the first of that name), as sent. */
export function cookieNamed(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}
