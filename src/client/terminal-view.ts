/**
 * One <opslab-terminal>: an xterm.js terminal wired to its TerminalConnection, with a visible
 * state (connecting → starting/restoring → ready → exited/error) and a reconnect button.
 */
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import '@xterm/xterm/css/xterm.css';
import type { CheckResultPayload, ErrorPayload, ProgressPayload, StatusPayload } from '../../protocol/messages.ts';
import { TerminalConnection } from './connection.ts';
import { FlowControl } from './flow-control.ts';
import { currentTheme, THEME_EVENT, type Theme } from './theme.ts';

export type ViewState = 'connecting' | StatusPayload['state'];

export interface LessonEvents {
  status(view: TerminalView, payload: StatusPayload): void;
  progress(payload: ProgressPayload): void;
  checkResult(payload: CheckResultPayload): void;
  error(view: TerminalView, payload: ErrorPayload): void;
}

const themes: Record<Theme, ITheme> = {
  dark: { background: '#0f1115', foreground: '#e6e6e6', cursor: '#4ade80', selectionBackground: '#3a4150' },
  light: { background: '#fbfbf8', foreground: '#1d1f24', cursor: '#15803d', selectionBackground: '#cfd8e6', brightWhite: '#6b7280', white: '#4b5563' },
};

const encoder = new TextEncoder();

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

  constructor(
    readonly element: HTMLElement,
    private readonly events: LessonEvents,
  ) {
    this.id = element.dataset.terminal!;
    this.statusText = element.querySelector('.terminal-status')!;
    this.reconnectButton = element.querySelector('.reconnect')!;
    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      // At 1.0 the cell is exactly the font's height and underscores fall outside it, invisible
      // (wsrep_cluster_size read as "wsrep cluster size"): a little more room shows them.
      lineHeight: 1.15,
      scrollback: 5000,
      theme: themes[currentTheme()],
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(new WebLinksAddon());
    this.term.open(element.querySelector<HTMLElement>('.terminal-screen')!);
    this.flow = new FlowControl((pause) => this.connection.send({ op: pause ? 'pause' : 'resume' }));
    this.connection = new TerminalConnection(element.dataset.lesson!, this.id, () => ({ cols: this.term.cols, rows: this.term.rows }), {
      open: () => {
        // The server replays recent output after the hello: start from a clean screen.
        this.term.reset();
        this.flow.reset();
        this.setState('connecting', 'attaching…');
      },
      output: (data) => this.term.write(data, this.flow.written(data.length)),
      status: (payload) => {
        if (payload.state === 'ready') this.refusal = undefined;
        this.setState(payload.state, statusLabel(payload));
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
        // A refusal (the workshop is full) stays on screen while the retries wait for a free sandbox.
        if (retryInMs !== undefined) this.setState('connecting', `${this.refusal ?? 'connection lost'} — retrying in ${Math.ceil(retryInMs / 1000)} s`);
        else this.setState('error', reason === 'replaced' ? 'opened in another tab' : reason);
      },
    });

    const input = this.term.onData((data) => this.connection.send({ op: 'input', data: encoder.encode(data) }));
    const binary = this.term.onBinary((data) => this.connection.send({ op: 'input', data: Uint8Array.from(data, (c) => c.charCodeAt(0)) }));
    const resize = this.term.onResize(({ cols, rows }) => this.connection.send({ op: 'resize', cols, rows }));
    this.disposers.push(() => input.dispose(), () => binary.dispose(), () => resize.dispose());

    const observer = new ResizeObserver(() => this.refit());
    observer.observe(element);
    this.disposers.push(() => observer.disconnect());
    const onTheme = (event: Event) => (this.term.options.theme = themes[(event as CustomEvent<Theme>).detail]);
    window.addEventListener(THEME_EVENT, onTheme);
    this.disposers.push(() => window.removeEventListener(THEME_EVENT, onTheme));
    const onReconnect = () => this.connection.connect();
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

  /** Types a command into the shell, as if the attendee had (click-to-run). */
  run(command: string): boolean {
    this.term.focus();
    return this.connection.send({ op: 'input', data: encoder.encode(`${command.replace(/\r?\n/g, '\r')}\r`) });
  }

  private setState(state: ViewState, label: string): void {
    this.element.dataset.state = state;
    this.statusText.textContent = label;
    this.reconnectButton.hidden = !(state === 'exited' || state === 'error');
    this.reconnectButton.textContent = state === 'exited' ? 'Start a new shell' : 'Reconnect';
  }

  dispose(): void {
    this.connection.stop();
    for (const dispose of this.disposers.splice(0)) dispose();
    this.term.dispose();
  }
}

function statusLabel(payload: StatusPayload): string {
  switch (payload.state) {
    case 'starting':
      return 'starting your sandbox…';
    case 'restoring':
      return 're-creating your sandbox…';
    case 'ready':
      return 'ready';
    case 'exited':
      return 'the shell exited';
    case 'error':
      return payload.message ?? 'error';
  }
}
