import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_DELAY, ProxyError, isProxyError, type DeferredRequest, type ProxyOutcome, type RequestQueue } from '@handoff/core';
import { checkRepeat, clientKey, fingerprint, newJobId, outcome, readBody, writeAccepted, writeRefusal } from './accept';
import { embeddedDb, postgresDb, type Db } from './db';
import { deadLetterIds, deadLetterLimit } from './dead-letter-input';
import { checkEnqueue, type EnqueueRequest } from './enqueue-input';
import { StoreHealth, storeError } from './health';
import { resolveQueueOptions, type QueueOptions, type ResolvedQueueOptions } from './options';
import { JobStore, type DeadLetter, type QueueDepth, type Stored } from './store';
import { Worker } from './worker';

/** How long a depth reading is reused: scrapes never cost more than one bounded statement per second. */
const DEPTH_TTL = 1_000;

/**
 * The durable queue: stores requests (`accept`, behind `proxy.later()` and `overflow: 'queue'`,
 * or `enqueue`), and, unless `deliver: false`, delivers them from this process.
 */
export class HandoffQueue implements RequestQueue {
  readonly options: ResolvedQueueOptions;
  readonly #health: StoreHealth;
  readonly #receiving = new Set<string>();
  /** Store operations under way: close() lets them settle before it closes the store. */
  readonly #busy = new Set<Promise<unknown>>();
  #store: Promise<JobStore> | undefined;
  #worker: Worker | undefined;
  #closing: Promise<void> | undefined;
  #depth: { at: number; value: Promise<QueueDepth> } | undefined;

  constructor(options?: QueueOptions) {
    this.options = resolveQueueOptions(options);
    this.#health = new StoreHealth(this.options.onEvent, this.options.pollInterval);
  }

  /** Opens the store, creates its tables, and starts the delivery workers (`deliver`). Rejects when the store cannot be reached. */
  async start(): Promise<void> {
    const store = await this.#use(async (opened) => opened, 'start()');
    if (this.options.deliver && !this.#worker && !this.#closing) {
      this.#worker = new Worker(store, this.options, this.#health);
      this.#worker.start();
    }
  }

  /** RequestQueue: stores the request and answers the client; 202 only after the commit. */
  async accept(req: IncomingMessage, res: ServerResponse, request: DeferredRequest): Promise<ProxyOutcome> {
    const started = performance.now();
    let key: string | undefined;
    let receiving = false;
    try {
      if (this.#closing) throw new ProxyError('HANDOFF_CLOSED', `Queue is shutting down: ${request.describe}`);
      key = clientKey(req, request.describe);
      if (key !== undefined) {
        if (this.#receiving.has(key)) {
          throw new ProxyError('HANDOFF_IDEMPOTENCY_IN_PROGRESS', `A request with Idempotency-Key ${key} is still being received: ${request.describe}`);
        }
        this.#receiving.add(key);
        receiving = true;
      }
      const limit = request.maxBodySize > 0 ? Math.min(request.maxBodySize, this.options.maxBodySize) : this.options.maxBodySize;
      const body = await readBody(req, request, limit, request.bodyTimeout);
      const stored = await this.#enqueue(request, body, key);
      if (res.destroyed) return outcome({ status: 0, bytes: 0 }, started, undefined, stored.id);
      return outcome(writeAccepted(res, stored.id, this.options), started, undefined, stored.id);
    } catch (err) {
      const error = err instanceof ProxyError ? err : storeError(err);
      return outcome(writeRefusal(req, res, error, this.options), started, error, undefined);
    } finally {
      if (receiving) this.#receiving.delete(key!);
    }
  }

  /**
   * Stores a request directly (no client to answer): resolves once committed, with its job id.
   * Rejects with HANDOFF_INVALID_OPTIONS for a bad request (nothing stored), HANDOFF_IDEMPOTENCY_MISMATCH
   * for a key stored with another method, target or body, HANDOFF_STORE_UNAVAILABLE, HANDOFF_CLOSED.
   */
  async enqueue(input: EnqueueRequest): Promise<{ id: string; created: boolean }> {
    const { request, body, key } = checkEnqueue(input, this.options.maxBodySize);
    const stored = await this.#enqueue(request, body, key);
    return { id: stored.id, created: stored.created };
  }

  async #enqueue(request: DeferredRequest, body: Buffer | undefined, key: string | undefined): Promise<Stored> {
    const id = newJobId();
    const print = fingerprint(request, body);
    const job = { id, key: key ?? id, fingerprint: print, method: request.method, origin: request.origin, path: request.path, headers: request.headers, body, maxAttempts: this.options.maxAttempts };
    const stored = await this.#use((store) => store.enqueue(job), request.describe);
    checkRepeat(stored, print, key, request.describe);
    if (stored.created) {
      this.options.onEvent({ type: 'enqueued', id });
      this.#worker?.poke();
    }
    return stored;
  }

  /** Dead letters, oldest first (`limit` 1 to 100 000, default 100). */
  async deadLetters(limit?: number): Promise<DeadLetter[]> {
    const rows = deadLetterLimit(limit);
    return this.#use((store) => store.deadLetters(rows), 'deadLetters()');
  }

  /** Moves dead letters back into the queue, attempts from 0 (`'all'`, or ids); returns the ids moved. */
  async retryDeadLetters(ids: readonly string[] | 'all'): Promise<string[]> {
    const which = deadLetterIds(ids, 'retryDeadLetters');
    const moved = await this.#use((store) => store.revive(which, this.options.maxAttempts), 'retryDeadLetters()');
    if (moved.length > 0) this.#worker?.poke();
    return moved;
  }

  /** Deletes dead letters (`'all'`, or ids); returns the ids deleted. */
  async purgeDeadLetters(ids: readonly string[] | 'all'): Promise<string[]> {
    const which = deadLetterIds(ids, 'purgeDeadLetters');
    return this.#use((store) => store.purge(which), 'purgeDeadLetters()');
  }

  /** Depth (counted up to a cap), dead letters and the oldest job's age, read at most once a second. */
  async depth(): Promise<QueueDepth> {
    const now = Date.now();
    if (!this.#depth || now - this.#depth.at > DEPTH_TTL) {
      const value = this.#use((store) => store.depth(), 'depth()');
      value.catch(() => (this.#depth = undefined));
      this.#depth = { at: now, value };
    }
    return this.#depth.value;
  }

  /** Deliveries in flight in this process. */
  get inFlight(): number {
    return this.#worker?.inFlight ?? 0;
  }

  /**
   * Stops taking requests (503) and claiming jobs, lets deliveries in flight finish until
   * `timeout` ms (default 10 000), gives the rest back for redelivery, closes the store.
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    const timeout = options.timeout ?? 10_000;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_DELAY) {
      return Promise.reject(new ProxyError('HANDOFF_INVALID_OPTIONS', `close timeout must be an integer from 0 to ${MAX_DELAY} ms, got ${String(timeout)}`, { option: 'timeout' }));
    }
    this.#closing ??= (async () => {
      await this.#worker?.stop(timeout);
      await Promise.allSettled([...this.#busy]);
      const store = await this.#store?.catch(() => undefined);
      await store?.close();
    })();
    return this.#closing;
  }

  /**
   * Runs one operation on the store: refused with HANDOFF_CLOSED once close() was called; a
   * failure to open or run it is a HANDOFF_STORE_UNAVAILABLE, reported once per outage.
   */
  #use<T>(run: (store: JobStore) => Promise<T>, what: string): Promise<T> {
    if (this.#closing) return Promise.reject(new ProxyError('HANDOFF_CLOSED', `Queue is closed: ${what}`));
    const op = (async () => {
      try {
        const result = await run(await this.#open());
        this.#health.up();
        return result;
      } catch (err) {
        // A refusal that is not the store's (the embedded directory taken, not a directory) is no outage.
        if (isProxyError(err) && err.code !== 'HANDOFF_STORE_UNAVAILABLE') throw err;
        throw this.#health.down(err);
      }
    })();
    this.#busy.add(op);
    op.then(
      () => this.#busy.delete(op),
      () => this.#busy.delete(op),
    );
    return op;
  }

  /** The store, opened once; a failed open is tried again on the next use. */
  #open(): Promise<JobStore> {
    this.#store ??= (async () => {
      const { options } = this;
      const db: Db = options.database ? postgresDb(options.database, options.poolSize, options.storeTimeout) : await embeddedDb(options.dir);
      const store = new JobStore(db, options.schema);
      try {
        await store.init();
      } catch (err) {
        await db.close().catch(() => {});
        throw err;
      }
      return store;
    })();
    const opened = this.#store;
    opened.catch(() => {
      if (this.#store === opened) this.#store = undefined;
    });
    return opened;
  }
}

/** A queue with these options; call `start()` to open the store and start delivering. */
export function createQueue(options?: QueueOptions): HandoffQueue {
  return new HandoffQueue(options);
}
