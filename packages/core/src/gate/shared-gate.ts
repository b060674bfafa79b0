import { randomBytes } from 'node:crypto';
import { ProxyError } from '../errors';
import type { GateStats } from '../types';
import { queueFull, queueTimedOut, type ConcurrencyGate, type Waiter } from './admission';
import { HeldLeases } from './held-leases';
import { LeaseStore, type Acquired } from './lease-store';
import type { ResolvedGateOptions } from './options';
import { Waiting, type Entry } from './waiting';

/** `connecting`: not yet ready (waiters wait); `up`: admissions go through Redis; `down`: `whenDown` decides. */
type Connection = 'connecting' | 'up' | 'down';

/**
 * A concurrency gate shared by every instance with the same Redis and key: `concurrency`
 * slots for the whole fleet, each a lease with a TTL renewed while its transfer runs, so
 * a killed instance's slots come back within the TTL. Waiters hold tickets in one queue
 * ordered by arrival across instances; each instance asks for its own tickets' turn when
 * it hears (pub/sub) that a slot was freed, and on a timer every third of the TTL. The
 * local queue bound, queue timeout and 503s are the in-process gate's.
 *
 * Written on ioredis with Lua (gate/lease-scripts.ts) rather than redis-semaphore 5,
 * whose Semaphore takes `now` from each instance's clock (Date.now() passed to its
 * script) and acquires by polling every `retryInterval` with no queue: no arrival order
 * across instances, and skewed clocks expire each other's leases.
 *
 * Redis failing (a command erroring or slower than `timeout`, or the connection closing)
 * is reported once per outage. Meanwhile 'open' admits against `concurrency` in this
 * instance alone, 'closed' answers 503 (HANDOFF_GATE_UNAVAILABLE). When Redis answers
 * again, every transfer still running takes a lease, so the fleet counts it.
 */
export class SharedGate implements ConcurrencyGate {
  readonly #options: ResolvedGateOptions;
  readonly #store: LeaseStore;
  readonly #queue = new Waiting();
  readonly #held = new HeldLeases();
  readonly #renewal: NodeJS.Timeout;
  readonly #prefix = `${randomBytes(9).toString('base64url')}:`;
  #next = 0;
  #connection: Connection;
  #acquiring = false;
  #again = false;
  #recovery: Promise<void> | undefined;
  #closed = false;
  #outages = 0;

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
    readonly queueTimeout: number,
    options: ResolvedGateOptions,
  ) {
    this.#options = options;
    this.#store = new LeaseStore({
      redis: options.redis,
      key: options.key,
      timeout: options.timeout,
      onFree: () => this.#wake(),
      onReady: () => void this.#recover(),
      onFailure: (err) => this.#down(err),
    });
    this.#connection = this.#store.ready ? 'up' : 'connecting';
    this.#renewal = setInterval(() => this.#tick(), Math.floor(options.leaseTtl / 3));
    this.#renewal.unref();
  }

  get inFlight(): number {
    return this.#held.size;
  }

  get queued(): number {
    return this.#queue.size;
  }

  /** Both connections in place (commands, and the subscription that hears of freed slots), and the gate up on them. */
  async ready(): Promise<void> {
    await this.#store.connected();
    await this.#store.subscribed;
    // The store's onReady starts #recover; waiting for it is what makes `redisUp` true when this resolves.
    await this.#recover();
  }

  get stats(): GateStats {
    return {
      shared: true,
      leasesHeld: this.#held.taken,
      leasesExpired: this.#held.expired,
      redisOutages: this.#outages,
      redisUp: this.#connection === 'up',
    };
  }

  /** Admits only asynchronously while Redis is up; while it is down, as the in-process gate or not at all. */
  enter(waiter: Waiter): boolean {
    if (this.#connection === 'down') {
      if (this.#options.whenDown === 'closed') {
        waiter.reject(this.#unavailable(waiter));
        return false;
      }
      if (this.#held.size < this.concurrency && this.#queue.size === 0) {
        this.#held.addUntaken(this.#newId());
        return true;
      }
      if (this.#queue.size >= this.maxQueue) {
        waiter.reject(queueFull(this.maxQueue, waiter));
        return false;
      }
    }
    const entry: Entry = { waiter, id: this.#newId(), timer: undefined, sent: false };
    if (this.queueTimeout > 0) entry.timer = setTimeout(() => this.#timedOut(entry), this.queueTimeout);
    this.#queue.add(entry);
    if (this.#connection === 'up') this.#acquire();
    return false;
  }

  leave(waiter: Waiter): boolean {
    const entry = this.#queue.of(waiter);
    if (!entry) return false;
    // An admission already on its way finds no entry and gives the lease back (#admit).
    this.#queue.remove(entry);
    if (entry.sent) this.#giveBack([entry.id]);
    return true;
  }

  release(): void {
    const id = this.#held.removeOldest();
    if (this.#connection !== 'up') return this.#admitLocally();
    // Even an untaken lease: a renewal sent before may be taking it right now.
    this.#giveBack([id]);
    if (this.#queue.size > 0) this.#acquire();
  }

  rejectAll(err: () => ProxyError): void {
    const sent: string[] = [];
    for (const entry of this.#queue.all()) {
      this.#queue.remove(entry);
      if (entry.sent) sent.push(entry.id);
      entry.waiter.reject(err());
    }
    if (sent.length > 0) this.#giveBack(sent);
  }

  /** Gives back leases still held (best effort) and closes the connections the gate opened. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewal);
    if (this.#held.size > 0 && this.#store.ready) await this.#store.release(this.concurrency, this.#held.all()).catch(() => {});
    await this.#store.close();
  }

  #newId(): string {
    return this.#prefix + (this.#next++).toString(36);
  }

  #timedOut(entry: Entry): void {
    if (!this.#queue.remove(entry)) return;
    if (entry.sent) this.#giveBack([entry.id]);
    entry.waiter.reject(queueTimedOut(this.queueTimeout, entry.waiter));
  }

  /** Asks Redis for this instance's tickets' turn: one call at a time, another right after if something changed meanwhile. */
  #acquire(): void {
    if (this.#acquiring) {
      this.#again = true;
      return;
    }
    this.#acquiring = true;
    // After the current turn of the event loop's microtasks: a burst of requests is one call.
    queueMicrotask(() => void this.#acquireLoop());
  }

  async #acquireLoop(): Promise<void> {
    try {
      do {
        this.#again = false;
        if (this.#connection !== 'up' || this.#queue.size === 0 || this.#closed) return;
        // Sent tickets come first: every entry queued before a call was sent in it.
        const entries = this.#queue.all();
        const known = entries.filter((entry) => entry.sent);
        const tickets = [...known, ...entries.filter((entry) => !entry.sent)].map((entry) => entry.id);
        for (const entry of entries) entry.sent = true;
        let acquired: Acquired;
        try {
          const room = Math.max(this.maxQueue - known.length, 0);
          acquired = await this.#store.acquire(this.concurrency, this.#options.leaseTtl, room, known.length, tickets);
        } catch (err) {
          return this.#down(err);
        }
        this.#admit(acquired);
      } while (this.#again);
    } finally {
      this.#acquiring = false;
    }
  }

  #admit({ admitted, full }: Acquired): void {
    const orphans: string[] = [];
    for (const id of admitted) {
      const entry = this.#queue.byId(id);
      if (!entry) {
        orphans.push(id);
        continue;
      }
      this.#queue.remove(entry);
      this.#held.add(id);
      entry.waiter.admit();
    }
    for (const id of full) {
      const entry = this.#queue.byId(id);
      if (!entry) continue;
      this.#queue.remove(entry);
      entry.waiter.reject(queueFull(this.maxQueue, entry.waiter));
    }
    if (orphans.length > 0) this.#giveBack(orphans);
  }

  /** Releases leases and withdraws tickets in Redis; while it is down they expire there by themselves. */
  #giveBack(ids: string[]): void {
    if (this.#connection !== 'up') return;
    this.#store.release(this.concurrency, ids).catch((err: unknown) => this.#down(err));
  }

  /** Renews every running transfer's lease. */
  #renew(): Promise<void> {
    return this.#held.renew(this.#store, this.#options.leaseTtl);
  }

  #tick(): void {
    if (this.#closed) return;
    if (this.#connection !== 'up') {
      // Down with the connection still open (Redis stopped answering): try it again.
      if (this.#store.ready) void this.#recover();
      return;
    }
    if (this.#held.size > 0) this.#renew().catch((err: unknown) => this.#down(err));
    // Also renews the waiting tickets, and picks up slots of leases that expired without a word.
    if (this.#queue.size > 0) this.#acquire();
  }

  #wake(): void {
    if (this.#connection === 'up' && this.#queue.size > 0) this.#acquire();
  }

  /** Redis answers again: running transfers take their leases, then waiters queue in Redis. One attempt at a time. */
  #recover(): Promise<void> {
    if (this.#closed || this.#connection === 'up') return Promise.resolve();
    this.#recovery ??= this.#tryRecover().finally(() => (this.#recovery = undefined));
    return this.#recovery;
  }

  async #tryRecover(): Promise<void> {
    try {
      if (this.#held.size > 0) await this.#renew();
      else await this.#store.ping();
    } catch {
      return;
    }
    if (this.#closed) return;
    this.#connection = 'up';
    if (this.#queue.size > 0) this.#acquire();
  }

  #down(cause: unknown): void {
    if (this.#closed || this.#connection === 'down') return;
    this.#connection = 'down';
    this.#outages++;
    const { key, whenDown } = this.#options;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const meanwhile =
      whenDown === 'open' ? `admitting against the local limit of ${this.concurrency} until it recovers` : 'answering 503 until it recovers';
    this.#options.onError(new ProxyError('HANDOFF_GATE_UNAVAILABLE', `Shared gate ${JSON.stringify(key)}: Redis failed (${reason}); ${meanwhile}`, { cause }));
    if (whenDown === 'open') return this.#admitLocally();
    for (const entry of this.#queue.all()) {
      this.#queue.remove(entry);
      entry.waiter.reject(this.#unavailable(entry.waiter));
    }
  }

  /** 'open' while Redis is down: waiters go in while this instance runs fewer than `concurrency`. */
  #admitLocally(): void {
    if (this.#options.whenDown !== 'open') return;
    while (this.#held.size < this.concurrency) {
      const entry = this.#queue.first();
      if (!entry) return;
      this.#queue.remove(entry);
      this.#held.addUntaken(entry.id);
      entry.waiter.admit();
    }
  }

  #unavailable(waiter: Waiter): ProxyError {
    return new ProxyError('HANDOFF_GATE_UNAVAILABLE', `Shared gate's Redis is unreachable (gate.whenDown: 'closed'): ${waiter.describe()}`);
  }
}
