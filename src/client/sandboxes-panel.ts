/**
 * "Your sandboxes": the attendee's live sandboxes (GET /api/sandboxes), each with a Stop button
 * (POST /api/sandboxes/<lesson>/stop). On the index page and on every lesson page; on a lesson page
 * refused for the per-attendee cap it opens by itself under the refusal, and stopping one there
 * starts this lesson's sandbox at once.
 */
import { resetPath, SANDBOXES_PATH, setupPath, stopPath, type SandboxList, type SandboxSummary, type SetupResult, type StopResult } from '../../protocol/sandboxes.ts';
import { fetchProgress } from './progress-api.ts';

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const send = () => fetch(path, { credentials: 'same-origin', cache: 'no-store', ...init });
  let response = await send();
  // No identity yet (or one from before identities were signed): loading progress issues one.
  if (response.status === 401) {
    await fetchProgress();
    response = await send();
  }
  const body = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

const STARTING = ' Starting this lesson’s sandbox now…';

export const fetchSandboxes = () => call<SandboxList>(SANDBOXES_PATH);
export const stopSandbox = (lesson: string) => call<StopResult>(stopPath(lesson), { method: 'POST' });
export const resetLesson = (lesson: string) => call<StopResult>(resetPath(lesson), { method: 'POST' });
export const rerunSetup = (lesson: string) => call<SetupResult>(setupPath(lesson), { method: 'POST' });

function ago(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min ago`;
}

function describe(sandbox: SandboxSummary): string {
  const state = sandbox.state === 'ready' ? 'running' : sandbox.state === 'restoring' ? 're-creating' : 'starting';
  const use = sandbox.attached ? 'open in a tab' : `no tab open, left ${ago(sandbox.detachedForMs ?? 0)}`;
  return `${state} · ${use}`;
}

export interface PanelOptions {
  /** The lesson page's own lesson: listed, but stopped from its own page (its terminal's Reconnect), not here. */
  lesson?: string;
  /** A sandbox was stopped while this page was refused for the per-attendee cap: room for this lesson now. */
  roomMade?: () => void;
}

export class SandboxesPanel {
  private readonly list: HTMLUListElement;
  private readonly count: HTMLElement;
  private readonly result: HTMLElement;
  private shown = '';
  private refused = false;

  constructor(
    readonly root: HTMLDetailsElement,
    private readonly options: PanelOptions = {},
  ) {
    this.list = root.querySelector('.sandboxes-list')!;
    this.count = root.querySelector('.sandboxes-count')!;
    this.result = root.querySelector('.sandboxes-result')!;
    root.addEventListener('toggle', () => {
      if (root.open) void this.refresh();
    });
  }

  /** Fetches and shows the list; undefined when it could not be fetched (the panel says so). */
  async refresh(): Promise<SandboxList | undefined> {
    try {
      const list = await fetchSandboxes();
      this.render(list);
      return list;
    } catch (error) {
      this.result.textContent = `Your sandboxes could not be listed: ${(error as Error).message}`;
      return undefined;
    }
  }

  /**
   * The lesson's sandbox was refused for lack of room. If the attendee's own sandboxes fill their
   * limit, the list opens under the refusal, with its Stop buttons. Called again on every retry: the
   * list is redrawn only when it changed, so a button is never swapped out under a pointer.
   */
  async offerRoom(): Promise<void> {
    const list = await this.refresh();
    if (!list || list.sandboxes.filter((s) => s.lesson !== this.options.lesson).length < list.limit) return;
    this.refused = true;
    this.root.dataset.refused = 'true';
    this.root.open = true;
  }

  /** The lesson's sandbox is running: the refusal is over. */
  roomFound(): void {
    if (!this.refused) return;
    this.refused = false;
    delete this.root.dataset.refused;
    this.result.textContent = (this.result.textContent ?? '').replace(STARTING, ' This lesson’s sandbox is running.');
    if (this.root.open) void this.refresh();
  }

  private render(list: SandboxList): void {
    const key = JSON.stringify([list.limit, list.sandboxes.map((s) => [s.lesson, s.state, s.attached, s.attached ? 0 : Math.floor((s.detachedForMs ?? 0) / 60_000)])]);
    if (key === this.shown) return;
    this.shown = key;
    const n = list.sandboxes.length;
    this.count.textContent =
      n === 0
        ? `No sandbox is running for you. Each lesson you open starts one (at most ${list.limit} at a time).`
        : `${n} of at most ${list.limit} running. Stopping one keeps the steps you passed: opening its lesson again re-creates it and replays them.`;
    const items = list.sandboxes.map((sandbox) => {
      const item = document.createElement('li');
      item.dataset.lesson = sandbox.lesson;
      item.dataset.state = sandbox.state;
      item.dataset.attached = String(sandbox.attached);
      const link = document.createElement('a');
      link.href = `/lessons/${sandbox.lesson}/`;
      link.textContent = sandbox.title;
      const state = document.createElement('span');
      state.className = 'sandbox-state';
      state.textContent = sandbox.lesson === this.options.lesson ? `${describe(sandbox)} · this page` : describe(sandbox);
      item.append(link, ' ', state);
      if (sandbox.lesson !== this.options.lesson) {
        const stop = document.createElement('button');
        stop.type = 'button';
        stop.className = 'sandbox-stop';
        stop.textContent = 'Stop';
        stop.setAttribute('aria-label', `Stop the sandbox of “${sandbox.title}”`);
        stop.addEventListener('click', () => void this.stop(sandbox, stop));
        item.append(' ', stop);
      }
      return item;
    });
    this.list.replaceChildren(...items);
  }

  private async stop(sandbox: SandboxSummary, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.result.textContent = `Stopping the sandbox of “${sandbox.title}”…`;
    let outcome: StopResult;
    try {
      outcome = await stopSandbox(sandbox.lesson);
    } catch (error) {
      button.disabled = false;
      this.result.textContent = `The sandbox of “${sandbox.title}” could not be stopped: ${(error as Error).message}`;
      return;
    }
    const kept = 'Your completed steps stay recorded: opening the lesson again re-creates it and replays them.';
    this.result.textContent = outcome.stopped
      ? `Stopped the sandbox of “${sandbox.title}”. ${kept}${this.refused ? STARTING : ''}`
      : `The sandbox of “${sandbox.title}” was not running any more.${this.refused ? STARTING : ''}`;
    this.shown = '';
    this.render(outcome);
    if (this.refused) this.options.roomMade?.();
  }
}

/** The page's "Your sandboxes" panel, if it has one. */
export function initSandboxesPanel(options: PanelOptions = {}): SandboxesPanel | undefined {
  const root = document.querySelector<HTMLDetailsElement>('details.sandboxes-panel');
  return root ? new SandboxesPanel(root, options) : undefined;
}
