/**
 * What a node shows an operator's Prometheus (prom-client, the text format): its live sandboxes by
 * lesson and profile, sandbox starts and their latency, check latency, the memory and CPU charged to
 * the sandboxes, the machine's turn queue, the store's latency, whether it takes newcomers, takeovers
 * from dead nodes. Histograms, not
 * summaries: a histogram's buckets add up across nodes (`histogram_quantile` over the room).
 *
 * Served on a listener of its own (OPSLAB_METRICS_HOST:OPSLAB_METRICS_PORT, loopback by default),
 * never on the attendees' port: it names the lessons and the room's size.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { log } from './log.ts';

export interface MetricsSources {
  liveSandboxes(): Array<{ lesson: string; profile: string }>;
  turnsWaiting(): number;
  echoQueues(): { inputBytes: number; pausedTerminals: number };
  /** Memory charged to the sandboxes' cgroups (undefined: no cgroups, development only). */
  chargedMemoryBytes(): number | undefined;
  /** CPU seconds the sandboxes have used, ended ones included (undefined: no cpuacct). */
  chargedCpuSeconds(): number | undefined;
  accepting(): boolean;
  /** undefined: one machine, no feed. */
  listening(): boolean | undefined;
}

/** The process's own (memory, CPU, event loop lag), once per process however many servers a test starts. */
let processRegistry: Registry | undefined;

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly starts: Counter<'profile' | 'kind' | 'result'>;
  private readonly startSeconds: Histogram<'profile' | 'kind'>;
  private readonly checkSeconds: Histogram<'profile' | 'result'>;
  private readonly storeSeconds: Histogram<'op'>;
  private readonly takeovers: Counter;

  constructor(node: string, sources: MetricsSources) {
    if (!processRegistry) {
      processRegistry = new Registry();
      collectDefaultMetrics({ register: processRegistry, prefix: 'opslab_process_' });
    }
    this.registry.setDefaultLabels({ node });
    const registers = [this.registry];
    new Gauge({
      name: 'opslab_sandboxes',
      help: 'Live sandboxes, by lesson and profile',
      labelNames: ['lesson', 'profile'],
      registers,
      collect() {
        this.reset();
        for (const { lesson, profile } of sources.liveSandboxes()) this.inc({ lesson, profile });
      },
    });
    // Measured only with cgroups (cpuacct for the CPU): without them the metric is absent, not 0.
    if (sources.chargedMemoryBytes() !== undefined) {
      new Gauge({ name: 'opslab_sandbox_memory_bytes', help: 'Memory charged to the sandboxes\' cgroups, all together', registers, collect() {
        this.set(sources.chargedMemoryBytes()!);
      } });
    }
    if (sources.chargedCpuSeconds() !== undefined) {
      new Counter({ name: 'opslab_sandbox_cpu_seconds_total', help: 'CPU time the sandboxes have used, all together, ended ones included', registers, collect() {
        // The kernel keeps the count; a counter cannot be set, so it is made to equal it.
        this.reset();
        this.inc(sources.chargedCpuSeconds()!);
      } });
    }
    new Gauge({ name: 'opslab_terminal_input_backlog_bytes', help: 'Keystrokes queued for shells that are not reading yet, all terminals', registers, collect() {
      this.set(sources.echoQueues().inputBytes);
    } });
    new Gauge({ name: 'opslab_terminals_output_paused', help: 'Terminals whose output waits for a slow browser (its socket over the high-water mark, or the page asked to pause)', registers, collect() {
      this.set(sources.echoQueues().pausedTerminals);
    } });
    new Gauge({ name: 'opslab_turn_queue_length', help: 'Sandboxes waiting for the machine\'s turn (QEMU boots)', registers, collect() {
      this.set(sources.turnsWaiting());
    } });
    new Gauge({ name: 'opslab_node_accepting', help: '1 while the node takes new attendees', registers, collect() {
      this.set(sources.accepting() ? 1 : 0);
    } });
    new Gauge({ name: 'opslab_room_feed_listening', help: '1 while the node hears the room\'s changes (PostgreSQL LISTEN); absent on one machine', registers, collect() {
      const listening = sources.listening();
      if (listening !== undefined) this.set(listening ? 1 : 0);
    } });
    this.starts = new Counter({ name: 'opslab_sandbox_starts_total', help: 'Sandbox starts, by profile, kind (new, pool, restore) and result', labelNames: ['profile', 'kind', 'result'], registers });
    this.startSeconds = new Histogram({
      name: 'opslab_sandbox_start_seconds',
      help: 'From an attendee\'s terminal asking to a ready prompt',
      labelNames: ['profile', 'kind'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      registers,
    });
    this.checkSeconds = new Histogram({ name: 'opslab_check_seconds', help: 'A step\'s check, by profile and result', labelNames: ['profile', 'result'], buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.storeSeconds = new Histogram({ name: 'opslab_store_seconds', help: 'The store\'s statements and transactions', labelNames: ['op'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers });
    this.takeovers = new Counter({ name: 'opslab_takeovers_total', help: 'Attendees taken over from a dead node', registers });
  }

  sandboxStarted(profile: string, kind: 'new' | 'pool' | 'restore', seconds: number, ok: boolean): void {
    this.starts.inc({ profile, kind, result: ok ? 'ok' : 'failed' });
    if (ok) this.startSeconds.observe({ profile, kind }, seconds);
  }

  checked(profile: string, passed: boolean, seconds: number): void {
    this.checkSeconds.observe({ profile, result: passed ? 'passed' : 'failed' }, seconds);
  }

  storeTimed(op: string, seconds: number): void {
    this.storeSeconds.observe({ op }, seconds);
  }

  tookOver(): void {
    this.takeovers.inc();
  }

  async text(): Promise<string> {
    return `${await processRegistry!.metrics()}\n${await this.registry.metrics()}`;
  }
}

/** The metrics listener. Never stops the server: a port already taken is logged, naming the variable. */
export async function serveMetrics(metrics: NodeMetrics, host: string, port: number): Promise<Server | undefined> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: Error) => {
        log.error({ err: error }, 'collecting the metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting the metrics failed\n');
      },
    );
  });
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      log.error({ err: error }, `no /metrics: ${host}:${port} cannot be listened on (OPSLAB_METRICS_HOST, OPSLAB_METRICS_PORT; 0 picks a free port)`);
      resolve(undefined);
    });
    server.listen(port, host, () => {
      log.info({ metrics: `http://${host}:${(server.address() as AddressInfo).port}/metrics` }, 'metrics for Prometheus');
      resolve(server);
    });
  });
}
