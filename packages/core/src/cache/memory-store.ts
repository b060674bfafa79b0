import { LRUCache } from 'lru-cache';
import type { Writable } from 'node:stream';
import { bodyWriter } from './body-writer';
import {
  primaryKey,
  storedResult,
  variantId,
  varyMatches,
  type CacheKey,
  type CacheStore,
  type CacheValue,
  type GetResult,
} from './keys';

export interface MemoryStoreLimits {
  /** Total bytes of bodies and headers kept. */
  maxSize: number;
  /** Most responses kept (each Vary variant counts once). */
  maxEntries: number;
  /** Largest body stored, in bytes. */
  maxEntrySize: number;
}

interface Entry {
  value: CacheValue;
  body: Buffer;
}

/** Rough per-entry bookkeeping cost, so many tiny entries still count against maxSize. */
const ENTRY_OVERHEAD = 256;

/**
 * An in-process store for undici's cache interceptor, least recently used first out.
 *
 * Written on lru-cache rather than using undici's MemoryCacheStore: that store is
 * not LRU (when full it drops the older half of every URL's entries at once, hot or
 * not) and keeps expired entries until such a sweep. lru-cache gives exact LRU with
 * a byte budget, an entry count and a TTL per entry (the entry's deleteAt).
 */
export class MemoryCacheStore implements CacheStore {
  readonly #lru: LRUCache<string, Entry>;
  /** Primary key → the LRU keys of its variants. */
  readonly #variants = new Map<string, Set<string>>();
  readonly #maxEntrySize: number;

  constructor(limits: MemoryStoreLimits) {
    this.#maxEntrySize = limits.maxEntrySize;
    this.#lru = new LRUCache<string, Entry>({
      max: limits.maxEntries,
      maxSize: limits.maxSize,
      sizeCalculation: (entry) => entry.body.length + headerBytes(entry.value.headers) + ENTRY_OVERHEAD,
      dispose: (_entry, lruKey) => this.#forget(lruKey),
    });
  }

  /** Responses held now (for tests and stats). */
  get entries(): number {
    return this.#lru.size;
  }

  /** Bytes held now, as counted against maxSize. */
  get size(): number {
    return this.#lru.calculatedSize;
  }

  get(key: CacheKey): GetResult | undefined {
    const variants = this.#variants.get(primaryKey(key));
    if (!variants) return undefined;
    const now = Date.now();
    let best: string | undefined;
    let bestAt = -1;
    for (const lruKey of variants) {
      const entry = this.#lru.peek(lruKey);
      if (!entry || entry.value.deleteAt <= now || !varyMatches(entry.value.vary, key.headers)) continue;
      if (entry.value.cachedAt > bestAt) {
        best = lruKey;
        bestAt = entry.value.cachedAt;
      }
    }
    // get() (not peek) marks the entry as recently used.
    const entry = best === undefined ? undefined : this.#lru.get(best);
    if (!entry) return undefined;
    return storedResult(entry.value, entry.body);
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable {
    const primary = primaryKey(key);
    const lruKey = `${primary}\n${variantId(value.vary)}`;
    return bodyWriter(this.#maxEntrySize, (body) => {
      const ttl = value.deleteAt - Date.now();
      if (ttl <= 0) return;
      this.#lru.set(lruKey, { value, body }, { ttl });
      // set() refuses an entry larger than the whole budget; only index what it kept.
      if (!this.#lru.has(lruKey)) return;
      let variants = this.#variants.get(primary);
      if (!variants) this.#variants.set(primary, (variants = new Set()));
      variants.add(lruKey);
    });
  }

  delete(key: CacheKey): void {
    const variants = this.#variants.get(primaryKey(key));
    if (!variants) return;
    for (const lruKey of [...variants]) this.#lru.delete(lruKey);
  }

  #forget(lruKey: string): void {
    const primary = lruKey.slice(0, lruKey.lastIndexOf('\n'));
    const variants = this.#variants.get(primary);
    if (!variants) return;
    variants.delete(lruKey);
    if (variants.size === 0) this.#variants.delete(primary);
  }
}

function headerBytes(headers: Record<string, string | string[]>): number {
  let bytes = 0;
  for (const name in headers) {
    const value = headers[name]!;
    bytes += name.length + (typeof value === 'string' ? value.length : value.reduce((n, v) => n + v.length, 0));
  }
  return bytes;
}
