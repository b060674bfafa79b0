import { interceptors, type Dispatcher } from 'undici';
import type { CacheStats } from '../types';
import { Coalescer } from './coalesce';
import { GuardedStore } from './guarded-store';
import type { CacheStore } from './keys';
import { MemoryCacheStore } from './memory-store';
import type { ResolvedCacheOptions } from './options';
import { RedisCacheStore } from './redis-store';
import { traceUpstream, type CacheStatus } from './trace';


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
  readonly #counts = { hits: 0, misses: 0, revalidated: 0, stale: 0 };

  constructor(base: Dispatcher, options: ResolvedCacheOptions) {
    let report: (err: unknown) => void = () => {};
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
    this.store = new GuardedStore(this.#backing, { timeout: options.timeout, maxTtl: options.maxTtl, onError: options.onError });
    report = (err) => this.store.report(err);
    this.#coalescer = options.lockTimeout > 0 ? new Coalescer(options.lockTimeout, (key) => this.store.settled(key)) : undefined;
    // compose() runs the last interceptor first: coalescing, then the cache, then the tracer.
    const cache = interceptors.cache({ store: this.store, methods: ['GET', 'HEAD'], type: 'shared' });
    this.dispatcher = this.#coalescer
      ? base.compose(traceUpstream(this.store), cache, this.#coalescer.interceptor)
      : base.compose(traceUpstream(this.store), cache);
  }

  /** Counts how one response was served. */
  record(status: CacheStatus): void {
    if (status === 'HIT') this.#counts.hits++;
    else if (status === 'MISS') this.#counts.misses++;
    else if (status === 'REVALIDATED') this.#counts.revalidated++;
    else this.#counts.stale++;
  }

  get stats(): CacheStats {
    return { ...this.#counts, waiting: this.#coalescer?.waiting ?? 0 };
  }

  /** Closes the Redis connection the cache opened; a caller's client or store is left open. */
  async close(): Promise<void> {
    if (this.#backing instanceof RedisCacheStore) await this.#backing.close();
  }
}
