// prom-client: the Prometheus client for Node that the ecosystem standardises on (text format, histograms, default process metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_STATUS, type ProxyOutcome, type ProxyStats } from '@handoff/core';

/** Every label value comes from a closed set, so series stay bounded whatever the traffic. */
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const;
const ERROR_CODES = new Set(Object.keys(ERROR_STATUS));
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

function statusClass(status: number): (typeof STATUS_CLASSES)[number] {
  return status >= 100 && status <= 599 ? (`${Math.floor(status / 100)}xx` as (typeof STATUS_CLASSES)[number]) : 'none';
}

/** The sidecar's Prometheus metrics, in a registry of its own. */
export class SidecarMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'status_class' | 'outcome'>;
  readonly #bytes: Counter;
  readonly #errors: Counter<'reason'>;
  readonly #offloads: Counter<'kind'>;
  readonly #headers: Histogram<'kind'>;
  readonly #backendHeaders: Histogram;
  readonly #duration: Histogram;

  constructor(stats: () => ProxyStats, offloadKinds: readonly string[]) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'handoff_requests_total',
      help: 'Requests answered, by status class sent to the client (none: nothing was sent) and outcome (ok, or error when the transfer failed).',
      labelNames: ['status_class', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'handoff_in_flight',
      help: 'Transfers holding a concurrency slot.',
      registers,
      collect() {
        this.set(stats().inFlight);
      },
    });
    new Gauge({
      name: 'handoff_queued',
      help: 'Requests waiting for a concurrency slot.',
      registers,
      collect() {
        this.set(stats().queued);
      },
    });
    new Gauge({
      name: 'handoff_gate_leases_held',
      help: 'Leases of the shared gate (gate.redis) this process holds in Redis.',
      registers,
      collect() {
        this.set(stats().gate?.leasesHeld ?? 0);
      },
    });
    new Gauge({
      name: 'handoff_gate_redis_up',
      help: 'Whether the shared gate admits through Redis now (1), or per gate.whenDown because Redis is unreachable (0); 1 without a shared gate.',
      registers,
      collect() {
        this.set(stats().gate?.redisUp === false ? 0 : 1);
      },
    });
    // Counted by the core; the counters follow its totals.
    const total = (name: string, help: string, read: (gate: NonNullable<ProxyStats['gate']>) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const gate = stats().gate;
          this.reset();
          if (gate) this.inc(read(gate));
        },
      });
    total('handoff_gate_leases_expired_total', 'Shared gate leases that renewal found gone (a pause or outage longer than gate.leaseTtl) and took again.', (g) => g.leasesExpired);
    total('handoff_gate_redis_outages_total', "Times the shared gate's Redis started failing (each logged once).", (g) => g.redisOutages);
    this.#bytes = new Counter({ name: 'handoff_response_bytes_total', help: 'Response body bytes written to clients.', registers });
    this.#headers = new Histogram({
      name: 'handoff_upstream_headers_seconds',
      help: 'Time from the start of a request to the head relayed to the client: the backend\'s (kind="none"), or the offload target\'s or file\'s (kind="url", "accel", "sendfile").',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#backendHeaders = new Histogram({
      name: 'handoff_backend_headers_seconds',
      help: "Time from the start of a request to the backend's response head (for an offload, the response carrying the instruction).",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#duration = new Histogram({
      name: 'handoff_request_duration_seconds',
      help: 'Time from the start of a request until its response was finished or failed.',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#errors = new Counter({
      name: 'handoff_errors_total',
      help: 'Failed transfers, by reason (the ProxyError code).',
      labelNames: ['reason'],
      registers,
    });
    this.#offloads = new Counter({
      name: 'handoff_offloads_total',
      help: "Backend responses whose offload instruction was performed, by kind.",
      labelNames: ['kind'],
      registers,
    });
    for (const kind of offloadKinds) this.#offloads.inc({ kind }, 0);
    collectDefaultMetrics({ register: this.registry });
  }

  /** Records one finished transfer. */
  record(outcome: ProxyOutcome): void {
    this.#requests.inc({ status_class: statusClass(outcome.status), outcome: outcome.error ? 'error' : 'ok' });
    this.#bytes.inc(outcome.bytes);
    this.#duration.observe(outcome.durationMs / 1000);
    if (outcome.headersMs !== undefined) this.#headers.observe({ kind: outcome.offload ?? 'none' }, outcome.headersMs / 1000);
    const backendMs = outcome.offload ? outcome.instructionMs : outcome.headersMs;
    if (backendMs !== undefined) this.#backendHeaders.observe(backendMs / 1000);
    if (outcome.error) this.#errors.inc({ reason: ERROR_CODES.has(outcome.error.code) ? outcome.error.code : 'other' });
    if (outcome.offload) this.#offloads.inc({ kind: outcome.offload });
  }

  /** A request refused before any transfer began (a request target the sidecar cannot forward). */
  refused(status: number, reason: string): void {
    this.#requests.inc({ status_class: statusClass(status), outcome: 'error' });
    this.#errors.inc({ reason });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
