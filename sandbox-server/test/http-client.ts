/**
 * HTTP as the tests' browsers speak it: a JSON call with the page's cookie and Origin, an
 * EventSource (every `data:` line parsed), and the dashboard's grid folded from its events.
 */
import { request } from 'node:http';
import type { DashboardEvent, DashboardSnapshot, GridRow, HelpRequest } from '../../protocol/workshop.ts';

export interface Answer {
  status: number;
  body: string;
  json: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export function call(server: { url: string }, method: string, path: string, options: { cookie?: string; body?: unknown; origin?: string | null } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = options.cookie;
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (options.origin !== null) headers.origin = options.origin ?? server.url;
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, body, json, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** An EventSource as a test sees it: every `data:` line parsed, and a way to wait for one. */
export class EventStream<T> {
  readonly events: T[] = [];
  private readonly waiters: Array<() => void> = [];
  private closeRequest!: () => void;
  status = 0;

  constructor(server: { url: string }, path: string, cookie: string) {
    const req = request(`${server.url}${path}`, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      this.status = res.statusCode!;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) this.events.push(JSON.parse(data) as T);
        }
        for (const wake of this.waiters.splice(0)) wake();
      });
      res.on('end', () => this.waiters.splice(0).forEach((wake) => wake()));
    });
    req.on('error', () => undefined);
    req.end();
    this.closeRequest = () => req.destroy();
  }

  async until(predicate: (events: T[]) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last events: ${JSON.stringify(this.events.slice(-3)).slice(0, 1500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.closeRequest();
  }
}

/** The grid as the dashboard holds it: the last snapshot with every later row applied. */
export function gridOf(events: DashboardEvent[]): { rows: Map<string, GridRow>; help: HelpRequest[]; snapshot?: DashboardSnapshot } {
  const rows = new Map<string, GridRow>();
  let help: HelpRequest[] = [];
  let snapshot: DashboardSnapshot | undefined;
  for (const event of events) {
    if (event.type === 'snapshot') {
      snapshot = event.snapshot;
      rows.clear();
      for (const row of event.snapshot.rows) rows.set(row.attendee, row);
      help = event.snapshot.help;
    } else if (event.type === 'row') rows.set(event.row.attendee, event.row);
    else if (event.type === 'help') help = event.help;
  }
  return { rows, help, ...(snapshot ? { snapshot } : {}) };
}

