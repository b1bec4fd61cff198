/**
 * The attendee's own sandboxes, over HTTP: `GET /api/sandboxes` lists them and
 * `POST /api/sandboxes/<lesson>/stop` stops one (docs/protocol.md). Shared by the site
 * (src/client/sandboxes-panel.ts) and the server (sandbox-server/src/sandboxes-api.ts).
 */
import type { SandboxState } from './messages.ts';

export const SANDBOXES_PATH = '/api/sandboxes';

/** Where one lesson's sandbox is stopped. Lesson slugs are `idPattern`: nothing to escape, but be safe. */
export const stopPath = (lesson: string): string => `${SANDBOXES_PATH}/${encodeURIComponent(lesson)}/stop`;

/** Where one lesson is reset: its sandbox stopped and its progress forgotten (a fresh start). */
export const resetPath = (lesson: string): string => `${SANDBOXES_PATH}/${encodeURIComponent(lesson)}/reset`;

/** Authoring mode (npm run dev) only: setup.sh runs again in the running sandbox (files/ copied again first). */
export const setupPath = (lesson: string): string => `${SANDBOXES_PATH}/${encodeURIComponent(lesson)}/setup`;

/** `POST /api/sandboxes/<lesson>/setup`: whether setup.sh succeeded, and what it printed. */
export interface SetupResult {
  lesson: string;
  ok: boolean;
  output: string;
}

/** A listed sandbox is held: starting, being re-created (steps replayed), or running. */
export type HeldSandboxState = Extract<SandboxState, 'starting' | 'restoring' | 'ready'>;

export interface SandboxSummary {
  /** The lesson's slug: `/lessons/<lesson>/`. */
  lesson: string;
  /** The lesson's title. */
  title: string;
  state: HeldSandboxState;
  /** A terminal of it is open now (a tab or window shows the lesson): the caps never stop it for room. */
  attached: boolean;
  /** With nothing attached: since when (ISO time on the server's clock) and for how long. */
  detachedSince?: string;
  detachedForMs?: number;
}

/** `GET /api/sandboxes`. */
export interface SandboxList {
  /** The caller's sandboxes, in lesson order. */
  sandboxes: SandboxSummary[];
  /** Sandboxes one attendee may hold at once; a lesson opened beyond it first makes room (a detached one stops) or is refused. */
  limit: number;
}

/** `POST /api/sandboxes/<lesson>/stop`: whether one was running (stopping nothing is not an error), and the list after. */
export interface StopResult extends SandboxList {
  lesson: string;
  stopped: boolean;
}

/** Every error answer of these routes (and of the rest of /api). */
export interface ApiError {
  error: string;
}
