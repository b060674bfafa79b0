import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HandoffQueue, QueueEvent } from '@handoff/queue';

const DELIVERY_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];

/**
 * The queue's metrics, labels from closed sets only: counters from its events, the delivery
 * latency (enqueue to the target's 2xx), and depth and oldest-job age from one bounded
 * statement at most once a second (never COUNT(*) per scrape).
 */
export class QueueMetrics {
  readonly #jobs: Counter<'event'>;
  readonly #latency: Histogram;

  constructor(registry: Registry, queue: () => HandoffQueue | undefined) {
    const registers = [registry];
    this.#jobs = new Counter({
      name: 'handoff_queue_jobs_total',
      help: 'Queue events: enqueued, delivered, retried (an attempt failed and another is scheduled), dead_lettered.',
      labelNames: ['event'],
      registers,
    });
    for (const event of ['enqueued', 'delivered', 'retried', 'dead_lettered']) this.#jobs.inc({ event }, 0);
    this.#latency = new Histogram({
      name: 'handoff_queue_delivery_seconds',
      help: "Time from a request's enqueue to the target's 2xx answer.",
      buckets: DELIVERY_BUCKETS,
      registers,
    });
    const gauge = (name: string, help: string, read: (depth: Awaited<ReturnType<HandoffQueue['depth']>>) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const q = queue();
          if (!q) return;
          try {
            this.set(read(await q.depth()));
          } catch {
            // The store is down: the gauge keeps its last value, and the log says so once.
          }
        },
      });
    gauge('handoff_queue_depth', 'Jobs waiting or being delivered (counted up to 100000).', (d) => d.depth);
    gauge('handoff_queue_oldest_job_age_seconds', 'Age of the oldest job still in the queue (0: empty).', (d) => d.oldestAgeMs / 1000);
    gauge('handoff_queue_dead_letters', 'Jobs in the dead letters (counted up to 100000).', (d) => d.deadLetters);
    new Gauge({
      name: 'handoff_queue_in_flight',
      help: 'Deliveries in flight in this process.',
      registers,
      collect() {
        this.set(queue()?.inFlight ?? 0);
      },
    });
  }

  record(event: QueueEvent): void {
    if (event.type === 'enqueued') this.#jobs.inc({ event: 'enqueued' });
    else if (event.type === 'delivered') {
      this.#jobs.inc({ event: 'delivered' });
      this.#latency.observe(event.latencyMs / 1000);
    } else if (event.type === 'retried') this.#jobs.inc({ event: 'retried' });
    else if (event.type === 'deadLettered') this.#jobs.inc({ event: 'dead_lettered' });
  }
}
