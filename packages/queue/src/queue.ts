import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_DELAY, ProxyError, type DeferredRequest, type ProxyOutcome, type RequestQueue } from '@handoff/core';
import { clientKey, fingerprint, newJobId, outcome, readBody, writeAccepted, writeRefusal } from './accept';
import { embeddedDb, postgresDb, type Db } from './db';
import { StoreHealth, storeError } from './health';
import { resolveQueueOptions, type QueueOptions, type ResolvedQueueOptions } from './options';
import { JobStore, type DeadLetter, type QueueDepth, type Stored } from './store';
import { Worker } from './worker';

/** A request given to `queue.enqueue()` directly. */
export interface EnqueueRequest {
  method?: string;
  /** The target, an absolute http(s) URL. */
  url: string;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  /** Default: the job id. */
  idempotencyKey?: string;
}

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
    const store = await this.#open();
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
      const print = fingerprint(request, body);
      if (!stored.created && stored.fingerprint !== print) {
        throw new ProxyError('HANDOFF_IDEMPOTENCY_MISMATCH', `Idempotency-Key ${key} was used for another request: ${request.describe}`);
      }
      if (res.destroyed) return outcome({ status: 0, bytes: 0 }, started, undefined, stored.id);
      return outcome(writeAccepted(res, stored.id, this.options), started, undefined, stored.id);
    } catch (err) {
      const error = err instanceof ProxyError ? err : storeError(err);
      return outcome(writeRefusal(req, res, error, this.options), started, error, undefined);
    } finally {
      if (receiving) this.#receiving.delete(key!);
    }
  }

  /** Stores a request directly (no client to answer): resolves once committed, with its job id. */
  async enqueue(request: EnqueueRequest): Promise<{ id: string; created: boolean }> {
    const url = new URL(request.url);
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    const deferred: DeferredRequest = {
      method: (request.method ?? 'POST').toUpperCase(),
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      headers: request.headers ?? {},
      body: undefined,
      maxBodySize: 0,
      bodyTimeout: 0,
      describe: `${request.method ?? 'POST'} ${url.href}`,
    };
    const stored = await this.#enqueue(deferred, body, request.idempotencyKey);
    return { id: stored.id, created: stored.created };
  }

  async #enqueue(request: DeferredRequest, body: Buffer | undefined, key: string | undefined): Promise<Stored> {
    const store = await this.#open();
    const id = newJobId();
    let stored: Stored;
    try {
      stored = await store.enqueue({
        id,
        key: key ?? id,
        fingerprint: fingerprint(request, body),
        method: request.method,
        origin: request.origin,
        path: request.path,
        headers: request.headers,
        body,
        maxAttempts: this.options.maxAttempts,
      });
      this.#health.up();
    } catch (err) {
      throw this.#health.down(err);
    }
    if (stored.created) {
      this.options.onEvent({ type: 'enqueued', id });
      this.#worker?.poke();
    }
    return stored;
  }

  /** Dead letters, oldest first. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return (await this.#open()).deadLetters(limit);
  }

  /** Moves dead letters back into the queue, attempts from 0 (`'all'`, or ids); returns the ids moved. */
  async retryDeadLetters(ids: readonly string[] | 'all'): Promise<string[]> {
    const moved = await (await this.#open()).revive(ids === 'all' ? null : ids, this.options.maxAttempts);
    if (moved.length > 0) this.#worker?.poke();
    return moved;
  }

  /** Deletes dead letters (`'all'`, or ids); returns the ids deleted. */
  async purgeDeadLetters(ids: readonly string[] | 'all'): Promise<string[]> {
    return (await this.#open()).purge(ids === 'all' ? null : ids);
  }

  /** Depth (counted up to a cap), dead letters and the oldest job's age, read at most once a second. */
  async depth(): Promise<QueueDepth> {
    const now = Date.now();
    if (!this.#depth || now - this.#depth.at > DEPTH_TTL) {
      const value = this.#open().then((store) => store.depth());
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
      const store = await this.#store?.catch(() => undefined);
      await store?.close();
    })();
    return this.#closing;
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
