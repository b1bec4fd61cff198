/**
 * One <opslab-terminal>: an xterm.js terminal wired to its TerminalConnection, with a visible
 * state (connecting → starting/restoring → ready → exited/error) and a reconnect button.
 *
 * Waits are never silent: while connecting or starting, a panel over the screen says what is
 * happening, for how long, and how far along it is when the server knows. Keys typed meanwhile are
 * kept and delivered (by the server once the shell is attached; here while there is no socket).
 */
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import '@xterm/xterm/css/xterm.css';
import type { CheckResultPayload, ErrorPayload, ProgressPayload, StatusPayload } from '../../protocol/messages.ts';
import { TerminalConnection } from './connection.ts';
import { CursorBlink } from './cursor-blink.ts';
import { TABS_CHANNEL } from './early-connect.ts';
import { FlowControl } from './flow-control.ts';
import { savedTerminalOptions } from './terminal-settings.ts';
import { currentTheme, THEME_EVENT, type Theme } from './theme.ts';

export type ViewState = 'connecting' | StatusPayload['state'];

export interface LessonEvents {
  status(view: TerminalView, payload: StatusPayload): void;
  /** The shell set the terminal's title (OSC 0/2): a lesson's node tab shows its node's state this way. */
  title(view: TerminalView, title: string): void;
  progress(payload: ProgressPayload): void;
  checkResult(payload: CheckResultPayload): void;
  error(view: TerminalView, payload: ErrorPayload): void;
}

const themes: Record<Theme, ITheme> = {
  dark: { background: '#0f1115', foreground: '#e6e6e6', cursor: '#4ade80', selectionBackground: '#3a4150' },
  light: { background: '#fbfbf8', foreground: '#1d1f24', cursor: '#15803d', selectionBackground: '#cfd8e6', brightWhite: '#6b7280', white: '#4b5563' },
};

const encoder = new TextEncoder();
/** Keys kept while there is no socket: far more than anyone types in a wait; beyond it, typing is refused visibly. */
const MAX_QUEUED_INPUT = 16 * 1024;
/** Tabs of one browser tell each other when they let go of a terminal, so one that was replaced takes it back. */
const tabsChannel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(TABS_CHANNEL);
const WAITING: ReadonlySet<ViewState> = new Set(['connecting', 'starting', 'restoring']);

/** "5 s", "1 min 12 s". */
function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export class TerminalView {
  readonly id: string;
  readonly term: Terminal;
  readonly connection: TerminalConnection;
  private readonly fit = new FitAddon();
  private readonly flow: FlowControl;
  private readonly statusText: HTMLElement;
  private readonly reconnectButton: HTMLButtonElement;
  private readonly disposers: Array<() => void> = [];
  /** Why the server last refused a sandbox (capacity), shown until one is ready. */
  private refusal: string | undefined;
  private readonly wait: HTMLElement;
  private readonly waitMessage: HTMLElement;
  private readonly waitElapsed: HTMLElement;
  private readonly waitProgress: HTMLProgressElement;
  private readonly waitTyped: HTMLElement;
  /** When the current wait began (page clock), and the ticking that shows it. */
  private waitSince = performance.now();
  private waitTicker: ReturnType<typeof setInterval> | undefined;
  /** Input typed while there is no socket, sent as soon as there is one. */
  private queued: Uint8Array[] = [];
  /** Sent while the shell was not there yet, not known to have reached it. */
  private unconfirmed: Uint8Array[] = [];
  /** Bytes in `queued` and `unconfirmed`: what the wait panel counts and the bound applies to. */
  private queuedBytes = 0;
  /** This tab lost the terminal to another tab: when that one lets go, take it back. */
  private replaced = false;
  /** Rewrites input on its way to the shell, when set (the on-screen key row's sticky Ctrl: key-bar.ts). */
  inputFilter: ((data: string) => string) | undefined;

  constructor(
    readonly element: HTMLElement,
    private readonly events: LessonEvents,
  ) {
    this.id = element.dataset.terminal!;
    this.statusText = element.querySelector('.terminal-status')!;
    this.reconnectButton = element.querySelector('.reconnect')!;
    this.wait = document.createElement('div');
    this.wait.className = 'terminal-wait';
    // Not a live region itself: the status line above announces the same stages once.
    // The ticking seconds are shown, not announced (a live region would read every tick).
    this.wait.innerHTML = '<p class="wait-message"></p><progress max="1"></progress><p class="wait-meta"><span class="wait-elapsed" aria-hidden="true"></span> <span class="wait-typed"></span></p>';
    this.waitMessage = this.wait.querySelector('.wait-message')!;
    this.waitElapsed = this.wait.querySelector('.wait-elapsed')!;
    this.waitProgress = this.wait.querySelector('progress')!;
    this.waitTyped = this.wait.querySelector('.wait-typed')!;
    element.querySelector('.terminal-screen')!.after(this.wait);
    this.term = new Terminal({
      // Steady: CursorBlink blinks it without the frame per keystroke xterm.js's blink costs.
      cursorBlink: false,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      // At 1.0 the cell is exactly the font's height and underscores fall outside it, invisible
      // (wsrep_cluster_size read as "wsrep cluster size"): a little more room shows them.
      lineHeight: 1.15,
      scrollback: 5000,
      theme: themes[currentTheme()],
      ...savedTerminalOptions(),
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new WebLinksAddon());
    this.term.open(element.querySelector<HTMLElement>('.terminal-screen')!);
    const blink = new CursorBlink(element, this.term);
    this.disposers.push(() => blink.dispose());
    this.flow = new FlowControl((pause) => this.connection.send({ op: pause ? 'pause' : 'resume' }));
    this.connection = new TerminalConnection(element.dataset.lesson!, this.id, () => ({ cols: this.term.cols, rows: this.term.rows }), {
      open: () => {
        // The server replays recent output after the hello: start from a clean screen.
        this.term.reset();
        this.flow.reset();
        this.setState('connecting', 'attaching…');
        // Sent after the hello: the server keeps it until the shell is attached.
        for (const data of this.queued.splice(0)) {
          this.connection.send({ op: 'input', data });
          this.unconfirmed.push(data);
        }
      },
      output: (data) => this.term.write(data, this.flow.written(data.length)),
      status: (payload) => {
        if (payload.state === 'ready') {
          this.refusal = undefined;
          this.unconfirmed = [];
          this.queuedBytes = 0;
        }
        if (payload.elapsedMs !== undefined) this.waitSince = performance.now() - payload.elapsedMs;
        this.setState(payload.state, statusLabel(payload), payload.progress);
        this.events.status(this, payload);
      },
      progress: (payload) => this.events.progress(payload),
      checkResult: (payload) => this.events.checkResult(payload),
      error: (payload) => {
        this.events.error(this, payload);
        if (payload.code === 'capacity') this.refusal = payload.message;
        // These concern one request, not the terminal: the shell keeps working.
        if (!['not-ready', 'unknown-step', 'rate-limited'].includes(payload.code)) this.setState('error', payload.message);
      },
      exit: () => this.setState('exited', 'the shell exited'),
      disconnected: (reason, retryInMs) => {
        if (this.state === 'exited') return;
        // What was sent before the shell was there goes again on the next socket.
        this.queued.unshift(...this.unconfirmed.splice(0));
        // A refusal (the workshop is full) stays on screen while the retries wait for a free sandbox.
        if (retryInMs !== undefined) this.setState('connecting', `${this.refusal ?? 'connection lost'} — retrying in ${Math.ceil(retryInMs / 1000)} s`);
        else {
          this.replaced = reason === 'replaced';
          this.setState('error', this.replaced ? 'opened in another tab — it comes back here when that tab closes' : reason);
        }
      },
    });

    const input = this.term.onData((data) => this.input(encoder.encode(this.inputFilter?.(data) ?? data)));
    const binary = this.term.onBinary((data) => this.input(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    const resize = this.term.onResize(({ cols, rows }) => this.connection.send({ op: 'resize', cols, rows }));
    const title = this.term.onTitleChange((text) => this.events.title(this, text.slice(0, 80)));
    this.disposers.push(() => input.dispose(), () => binary.dispose(), () => resize.dispose(), () => title.dispose());

    const onReleased = (event: MessageEvent) => {
      const { lesson, terminal } = (event.data ?? {}) as { lesson?: string; terminal?: string };
      if (this.replaced && lesson === element.dataset.lesson && terminal === this.id) {
        this.replaced = false;
        this.connection.connect();
      }
    };
    tabsChannel?.addEventListener('message', onReleased);
    this.disposers.push(() => tabsChannel?.removeEventListener('message', onReleased));

    const observer = new ResizeObserver(() => this.refit());
    observer.observe(element);
    this.disposers.push(() => observer.disconnect());
    const onTheme = (event: Event) => (this.term.options.theme = themes[(event as CustomEvent<Theme>).detail]);
    window.addEventListener(THEME_EVENT, onTheme);
    this.disposers.push(() => window.removeEventListener(THEME_EVENT, onTheme));
    const onReconnect = () => {
      this.replaced = false;
      this.connection.connect();
    };
    this.reconnectButton.addEventListener('click', onReconnect);
    this.disposers.push(() => this.reconnectButton.removeEventListener('click', onReconnect));
  }

  get state(): ViewState {
    return this.element.dataset.state as ViewState;
  }

  start(): void {
    this.refit();
    this.setState('connecting', 'connecting…');
    this.connection.connect();
  }

  refit(): void {
    if (!this.element.hidden && this.element.offsetWidth > 0) this.fit.fit();
  }

  /** Types a command into the shell, as if the attendee had (click-to-run); while it starts, once it is there. */
  run(command: string): boolean {
    this.term.focus();
    return this.input(encoder.encode(`${command.replace(/\r?\n/g, '\r')}\r`));
  }

  /** What the attendee types: sent now, or kept for the shell while there is no socket. */
  private input(data: Uint8Array): boolean {
    if (this.state !== 'ready' && this.state !== 'exited' && this.state !== 'error' && this.queuedBytes + data.length > MAX_QUEUED_INPUT) {
      this.waitTyped.textContent = `· ${this.queuedBytes} typed keys kept; no more until your shell is ready`;
      return false;
    }
    if (this.connection.send({ op: 'input', data })) {
      if (this.state !== 'ready') {
        // Kept until the shell is there: a socket lost before then (a refusal, a network blip) sends it again.
        this.unconfirmed.push(data);
        this.queuedBytes += data.length;
        this.showTyped();
      }
      return true;
    }
    if (this.state === 'exited' || this.state === 'error') return false;
    this.queued.push(data);
    this.queuedBytes += data.length;
    this.showTyped();
    return true;
  }

  /** How many typed bytes (keys, near enough) wait for the shell, on the wait panel. */
  private showTyped(): void {
    const n = this.queuedBytes;
    this.waitTyped.textContent = n > 0 ? `· ${n} typed key${n === 1 ? '' : 's'} kept for your shell` : '';
  }

  private setState(state: ViewState, label: string, progress?: { done: number; total: number }): void {
    const wasWaiting = WAITING.has(this.state);
    this.element.dataset.state = state;
    this.statusText.textContent = label;
    this.reconnectButton.hidden = !(state === 'exited' || state === 'error');
    this.reconnectButton.textContent = state === 'exited' ? 'Start a new shell' : this.replaced ? 'Use it here' : 'Reconnect';
    const waiting = WAITING.has(state);
    if (waiting && !wasWaiting) this.waitSince = performance.now();
    this.showTyped();
    this.wait.hidden = !waiting;
    this.waitMessage.textContent = label.charAt(0).toUpperCase() + label.slice(1);
    if (progress) {
      this.waitProgress.max = progress.total;
      this.waitProgress.value = progress.done;
    } else if (state === 'connecting') {
      this.waitProgress.removeAttribute('value'); // indeterminate: nothing to count yet
    }
    clearInterval(this.waitTicker);
    this.waitTicker = waiting ? setInterval(() => this.showElapsed(), 1000) : undefined;
    this.showElapsed();
  }

  /** The wait panel says for how long, once a wait passes a second. */
  private showElapsed(): void {
    const elapsed = performance.now() - this.waitSince;
    const shown = WAITING.has(this.state) && elapsed >= 1000;
    this.waitElapsed.textContent = shown ? duration(elapsed) : '';
  }

  dispose(): void {
    clearInterval(this.waitTicker);
    // Another tab of this browser that lost this terminal to us takes it back.
    if (this.connection.open) tabsChannel?.postMessage({ lesson: this.element.dataset.lesson, terminal: this.id });
    this.connection.stop();
    for (const dispose of this.disposers.splice(0)) dispose();
    this.term.dispose();
  }
}

function statusLabel(payload: StatusPayload): string {
  switch (payload.state) {
    case 'starting':
      return payload.message ?? 'starting your sandbox…';
    case 'restoring':
      return payload.message ?? 're-creating your sandbox…';
    case 'ready':
      return 'ready';
    case 'exited':
      return 'the shell exited';
    case 'error':
      return payload.message ?? 'error';
  }
}
