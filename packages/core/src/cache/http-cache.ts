import { interceptors, type Dispatcher } from 'undici';
import type { CacheStats } from '../types';
import { BodyDrain } from './body-drain';
import { Coalescer } from './coalesce';
import { GuardedStore } from './guarded-store';
import type { CacheStore, UrlKey } from './keys';
import { FleetLock } from './fleet-lock';
import { MemoryCacheStore } from './memory-store';
import type { ResolvedCacheOptions } from './options';
import { RedisCacheStore } from './redis-store';
import type { ResponseSource, SourceListener } from '../relay/source';
import { describeRequest, type UpstreamRequest } from '../upstream/request';
import { markForCaller } from './app-requests';
import type { ClientConditional } from './conditional';
import { freshHit, StoredSource } from './fresh-hit';
import { answerOnlyIfCached, keepOnlyIfCachedLocal } from './only-if-cached';
import { markCached } from './transfer-hooks';
import { traceUpstream, type CacheStatus, type CacheTrace } from './trace';

/** How a response served straight from the store is traced: it never reached the upstream. */
const STORED: CacheTrace = { upstream: false, upstreamStatus: 0, upstreamAge: undefined };

/**
 * The proxy's cache: undici's RFC 9111 cache interceptor (as a shared cache) over a
 * guarded store, with request coalescing in front and a tracer behind, composed
 * onto the proxy's dispatcher. Calls with `cache: false` use the bare dispatcher.
 */
export class HttpCache {
  readonly dispatcher: Dispatcher;
  readonly store: GuardedStore;
  readonly #backing: CacheStore;
  readonly #coalescer: Coalescer | undefined;
  readonly #fleet: FleetLock | undefined;
  readonly #counts = { hits: 0, misses: 0, revalidated: 0, stale: 0 };
  readonly #maxEntrySize: number;
  #caller: Dispatcher | undefined;

  constructor(base: Dispatcher, options: ResolvedCacheOptions) {
    let report: (err: unknown) => void = () => {};
    this.#maxEntrySize = options.maxEntrySize;
    const spec = options.store;
    this.#backing =
      spec.kind === 'memory'
        ? new MemoryCacheStore(options)
        : spec.kind === 'redis'
          ? new RedisCacheStore({
              redis: spec.redis,
              keyPrefix: spec.keyPrefix,
              timeout: options.timeout,
              maxEntrySize: options.maxEntrySize,
              onError: (err) => report(err),
            })
          : spec.store;
    this.store = new GuardedStore(this.#backing, {
      timeout: options.timeout,
      maxTtl: options.maxTtl,
      keepRevalidatable: options.keepRevalidatable,
      onError: options.onError,
    });
    report = (err) => this.store.report(err);
    const settled = (key: UrlKey) => this.store.settled(key);
    const backing = this.#backing;
    if (options.lockTimeout > 0 && backing instanceof RedisCacheStore) {
      const { client, channel } = backing;
      const lockKey = (key: UrlKey) => backing.lockKey(key);
      this.#fleet = new FleetLock({ client, channel, lockKey, lockTimeout: options.lockTimeout, settled, onError: report });
    }
    this.#coalescer = options.lockTimeout > 0 ? new Coalescer(options.lockTimeout, settled, this.#fleet !== undefined, () => this.store.failing) : undefined;
    // compose() runs the last interceptor first: coalescing, the cache (with its only-if-cached
    // answers, cache/only-if-cached.ts), the fleet lock (misses only), then the tracer.
    const cache = interceptors.cache({ store: this.store, methods: ['GET', 'HEAD'], type: 'shared' });
    const inner = this.#fleet ? [keepOnlyIfCachedLocal, this.#fleet.interceptor, cache, answerOnlyIfCached] : [keepOnlyIfCachedLocal, cache, answerOnlyIfCached];
    const outer = this.#coalescer ? [this.#coalescer.interceptor] : [];
    const policy = { targetedFields: options.targetedFields, storeSetCookie: options.storeSetCookie };
    this.dispatcher = base.compose(traceUpstream(this.store, policy), ...inner, ...outer);
  }

  /**
   * The source for a request the store can answer as it is (cache/fresh-hit.ts), marked
   * HIT and counted, with a client's validators answered; undefined to go through undici.
   */
  freshHit(listener: SourceListener, request: UpstreamRequest, conditional: ClientConditional | undefined): ResponseSource | undefined {
    const { url, method } = request;
    const key = { origin: url.origin, method, path: request.rawPath ?? url.pathname + url.search, headers: request.headers };
    const hit = freshHit(this.store, key, Date.now());
    if (!hit) return undefined;
    const mark = (status: number, headers: Record<string, string | string[]>) => markCached(this, STORED, conditional, status, headers);
    return new StoredSource(listener, hit.result, hit.age, mark, method === 'HEAD', describeRequest(request));
  }

  /**
   * A drain for the body of a response the client gets no body of, when the cache is
   * storing it (cache/body-drain.ts): undefined when it is not, or when its declared
   * length is more than the cache stores, and the body should be dropped.
   */
  drainFor(key: UrlKey, length: number | null, idle: number, stop: (why: string) => void): BodyDrain | undefined {
    if (!this.store.writing(key) || (length !== null && length > this.#maxEntrySize)) return undefined;
    return new BodyDrain(this.#maxEntrySize, idle, stop);
  }

  /** The app's own requests through this cache (cache/app-requests.ts): made on first use. */
  get callerDispatcher(): Dispatcher {
    this.#caller ??= this.dispatcher.compose(markForCaller(this));
    return this.#caller;
  }

  /** Counts how one response was served. */
  record(status: CacheStatus): void {
    if (status === 'HIT') this.#counts.hits++;
    else if (status === 'MISS') this.#counts.misses++;
    else if (status === 'REVALIDATED') this.#counts.revalidated++;
    else this.#counts.stale++;
  }

  get stats(): CacheStats {
    return {
      ...this.#counts,
      waiting: (this.#coalescer?.waiting ?? 0) + (this.#fleet?.waiting ?? 0),
      fleetWaits: this.#fleet?.waits ?? 0,
      lockTimeouts: (this.#coalescer?.timeouts ?? 0) + (this.#fleet?.timeouts ?? 0),
      storeOutages: this.store.outages,
    };
  }

  /** Resolves once the Redis store is connected and the fleet lock listens (at once for other stores). */
  async ready(): Promise<void> {
    if (this.#backing instanceof RedisCacheStore) await this.#backing.connected();
    await this.#fleet?.subscribed;
  }

  /** Closes the Redis connection the cache opened; a caller's client or store is left open. */
  async close(): Promise<void> {
    await this.#fleet?.close();
    if (this.#backing instanceof RedisCacheStore) await this.#backing.close();
  }
}
