import { randomUUID } from 'node:crypto';
import { ProxyError } from '@handoff/core';
import type { Agent } from 'undici';
import { retryDelay } from './backoff';
import { deliver, deliveryAgent, type Attempt } from './deliver';
import type { ResolvedQueueOptions } from './options';
import type { Job, JobStore } from './store';
import { StoreHealth } from './health';
import { TargetGate } from './limits';

const CLAIM_BATCH = 64;
/** Expired idempotency keys are swept once a minute while each sweep catches up, */
const FORGET_EVERY = 60_000;
/** and again a second later when one could not delete them all within its bounds (store.forget). */
const FORGET_AGAIN = 1_000;

interface Running {
  job: Job;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * The delivery loop of one process: claims due jobs under a lease of its own (a random
 * owner id), renews the leases while it holds them, delivers within the per-target limits,
 * and writes each outcome fenced by (owner, attempt). A process killed mid-delivery writes
 * nothing: its leases expire and another worker (or this one, restarted) delivers again.
 */
export class Worker {
  readonly owner = randomUUID();
  readonly #running = new Map<string, Running>();
  readonly #targets: TargetGate;
  readonly #agent: Agent;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #nextForget = 0;
  #sweeping: Promise<void> | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly options: ResolvedQueueOptions,
    private readonly health: StoreHealth,
  ) {
    this.#targets = new TargetGate(options.perTarget, options.targets);
    this.#agent = deliveryAgent(options);
  }

  get inFlight(): number {
    return this.#running.size;
  }

  start(): void {
    this.#loop ??= this.#run();
    this.#heartbeat = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.options.lease / 3)));
  }

  /** Claims at once instead of at the next poll (a job was just stored here). */
  poke(): void {
    this.#wake?.();
  }

  /**
   * Stops claiming, lets deliveries in flight finish until `timeout` ms, then aborts the
   * rest and gives their jobs back unfinished (their attempt not counted).
   */
  async stop(timeout: number): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    await this.#sweeping;
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, timeout)))]);
    clearTimeout(timer);
    for (const running of this.#running.values()) running.abort.abort(new ProxyError('HANDOFF_SHUTDOWN', 'Worker stopped before the delivery finished'));
    await all();
    clearInterval(this.#heartbeat);
    this.#targets.clear();
    await this.#agent.close();
  }

  async #run(): Promise<void> {
    // Claims wait for a quarter of the slots to be free: one claim per finished delivery made
    // the claims, not the deliveries, the bottleneck (bench/queue.ts).
    const batch = Math.max(1, Math.ceil(this.options.concurrency / 4));
    while (!this.#stopping) {
      const free = this.options.concurrency - this.#running.size;
      let claimed = 0;
      if (free >= batch || (free > 0 && this.#running.size === 0)) {
        try {
          const jobs = await this.store.claim(this.owner, this.options.lease, Math.min(free, CLAIM_BATCH), this.#targets.busy());
          this.health.up();
          claimed = jobs.length;
          for (const job of jobs) this.#start(job);
          // Beside the claims, not before the next one: a long sweep must not hold deliveries back.
          if (!this.#sweeping && Date.now() >= this.#nextForget) this.#sweeping = this.#forget();
        } catch (err) {
          this.health.down(err);
        }
      }
      // A full claim means more may be due: claim again at once. Otherwise wait for a poll, a free slot or a poke.
      if (claimed === 0 || claimed < Math.min(free, CLAIM_BATCH)) await this.#idle(this.health.healthy ? this.options.pollInterval : this.health.backoff());
    }
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  #start(job: Job): void {
    const abort = new AbortController();
    const running: Running = { job, abort, done: Promise.resolve() };
    this.#running.set(job.id, running);
    running.done = this.#deliver(job, abort.signal).finally(() => {
      this.#running.delete(job.id);
      if (this.#running.size < this.options.concurrency) this.#wake?.();
    });
  }

  async #deliver(job: Job, signal: AbortSignal): Promise<void> {
    try {
      await this.#targets.acquire(job.origin, signal);
    } catch {
      await this.#write(() => this.store.release(this.owner, job), job);
      return;
    }
    let attempt: Attempt;
    try {
      attempt = await deliver(this.#agent, job, this.options, signal);
    } finally {
      this.#targets.release(job.origin);
    }
    // Aborted at shutdown before an answer: given back. Once a head arrived it is the answer,
    // whatever became of the rest of its body (a 2xx is delivered).
    if (signal.aborted && attempt.status === undefined) {
      await this.#write(() => this.store.release(this.owner, job), job);
      return;
    }
    const { options } = this;
    const events = options.onEvent;
    if (attempt.verdict === 'done') {
      if (await this.#write(() => this.store.complete(this.owner, job.id, job.attempts), job)) {
        events({ type: 'delivered', id: job.id, attempts: job.attempts, status: attempt.status!, latencyMs: Date.now() - job.createdAt.getTime() });
      }
    } else if (attempt.verdict === 'retry' && job.attempts < job.maxAttempts) {
      const delayMs = retryDelay(job.attempts, options.retryBase, options.retryMax, attempt.retryAfterMs);
      if (await this.#write(() => this.store.retry(this.owner, job, delayMs, attempt.status, attempt.error), job)) {
        events({ type: 'retried', id: job.id, attempts: job.attempts, status: attempt.status, error: attempt.error, delayMs });
      }
    } else if (await this.#write(() => this.store.bury(this.owner, job, attempt.status, attempt.error), job)) {
      events({ type: 'deadLettered', id: job.id, attempts: job.attempts, status: attempt.status, error: attempt.error });
    }
  }

  /**
   * Writes an outcome; false when it was fenced (the lease is someone else's now) or the store
   * failed (then the lease expires and the job is delivered again: at least once).
   */
  async #write(outcome: () => Promise<boolean>, job: Job): Promise<boolean> {
    try {
      const written = await outcome();
      this.health.up();
      if (!written) this.options.onEvent({ type: 'fenced', id: job.id });
      return written;
    } catch (err) {
      this.health.down(err);
      return false;
    }
  }

  async #renew(): Promise<void> {
    if (this.#running.size === 0) return;
    const held = [...this.#running.values()].map((r) => ({ id: r.job.id, attempts: r.job.attempts }));
    try {
      await this.store.extend(this.owner, this.options.lease, held);
      this.health.up();
    } catch (err) {
      this.health.down(err);
    }
  }

  async #forget(): Promise<void> {
    try {
      const { caughtUp } = await this.store.forget(this.options.idempotencyWindow);
      this.health.up();
      this.#nextForget = Date.now() + (caughtUp ? FORGET_EVERY : FORGET_AGAIN);
    } catch (err) {
      this.health.down(err);
      this.#nextForget = Date.now() + FORGET_EVERY;
    } finally {
      this.#sweeping = undefined;
    }
  }
}
