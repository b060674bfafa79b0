import type { Redis } from 'ioredis';
import type { ProxyError } from '../errors';
import { isToken } from '../http/syntax';
import { duration, integer, invalid } from '../options/values';
import { redisSetting } from '../redis/connect';
import type { CacheStore } from './keys';

/** A Redis (or Valkey) store shared by every proxy instance that uses the same server and prefix. */
export interface RedisStoreOptions {
  /** A `redis://` URL (the proxy opens and closes that connection) or a connected ioredis client (yours; never closed). */
  redis: string | Redis;
  /** Prefix of every key the cache writes; instances that should share entries use the same one. */
  keyPrefix?: string;
}

/** The `cache` option: RFC 9111 shared caching of GET and HEAD responses. */
export interface CacheOptions {
  /** Where entries live: this process's memory (default), Redis, or any undici cache store. */
  store?: 'memory' | RedisStoreOptions | CacheStore;
  /** Memory store: most bytes of bodies and headers held (least recently used go first). */
  maxSize?: number;
  /** Memory store: most responses held (each Vary variant counts). */
  maxEntries?: number;
  /** Largest body stored, in bytes; a larger response streams through unstored. */
  maxEntrySize?: number;
  /** Seconds an entry is kept at most, whatever its freshness and revalidation window say. */
  maxTtl?: number;
  /** ms a concurrent request for a URL being fetched waits for that response before going upstream itself; 0 disables coalescing. */
  lockTimeout?: number;
  /** ms a store operation may take (Redis, or a custom asynchronous store) before it counts as a miss. */
  timeout?: number;
  /**
   * Seconds a stale entry that has a validator (ETag or Last-Modified) is kept past its
   * freshness, to be revalidated rather than fetched again; default 86400, 0 keeps
   * undici's rule (about one more freshness lifetime). Bounded by maxTtl and eviction.
   */
  keepRevalidatable?: number;
  /**
   * Targeted cache-control fields honoured before Cache-Control (RFC 9213), first takes
   * precedence; default `['handoff-cache-control', 'cdn-cache-control']`, [] for none.
   * CDN-Cache-Control is passed on to the client, the others are removed.
   */
  targetedFields?: string[];
  /**
   * Stores a response with Set-Cookie when it is explicitly public (`public` or
   * `s-maxage`) and replays the cookie with it; default false: one client's cookie
   * would be handed to every client served from the entry.
   */
  storeSetCookie?: boolean;
  /** Called with a `HANDOFF_CACHE_STORE` error once per store outage; default: console.error. */
  onError?: (err: ProxyError) => void;
}

export const CACHE_DEFAULTS = {
  maxSize: 64 * 1024 * 1024,
  maxEntries: 10_000,
  maxEntrySize: 5 * 1024 * 1024,
  maxTtl: 86_400,
  lockTimeout: 5_000,
  timeout: 500,
  keepRevalidatable: 86_400,
  targetedFields: ['handoff-cache-control', 'cdn-cache-control'] as readonly string[],
  storeSetCookie: false,
  keyPrefix: 'handoff:cache:',
};

export type ResolvedStore =
  | { kind: 'memory' }
  | { kind: 'redis'; redis: string | Redis; keyPrefix: string }
  | { kind: 'custom'; store: CacheStore };

export interface ResolvedCacheOptions {
  store: ResolvedStore;
  maxSize: number;
  maxEntries: number;
  maxEntrySize: number;
  maxTtl: number;
  lockTimeout: number;
  timeout: number;
  keepRevalidatable: number;
  targetedFields: readonly string[];
  storeSetCookie: boolean;
  onError: (err: ProxyError) => void;
}

/** A store timeout of 0 would make every lookup a miss: at least 1 ms. */
function positiveDuration(value: unknown, name: string, fallback: number): number {
  integer(value, name, 1, fallback);
  return duration(value, name, fallback);
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value == null) return fallback;
  if (typeof value !== 'boolean') throw invalid(name, `${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function logError(err: ProxyError): void {
  console.error(`[handoff] ${err.message}`, err.cause);
}

function isCacheStore(value: object): value is CacheStore {
  const store = value as Partial<CacheStore>;
  return typeof store.get === 'function' && typeof store.createWriteStream === 'function' && typeof store.delete === 'function';
}

function store(value: unknown): ResolvedStore {
  if (value == null || value === 'memory') return { kind: 'memory' };
  if (typeof value !== 'object') {
    throw invalid('cache.store', `cache.store must be 'memory', { redis } or an undici cache store, got ${JSON.stringify(value)}`);
  }
  if (isCacheStore(value)) return { kind: 'custom', store: value };
  const { redis, keyPrefix } = value as RedisStoreOptions;
  if (keyPrefix != null && typeof keyPrefix !== 'string') throw invalid('cache.store.keyPrefix', 'cache.store.keyPrefix must be a string');
  return { kind: 'redis', redis: redisSetting(redis, 'cache.store.redis'), keyPrefix: keyPrefix ?? CACHE_DEFAULTS.keyPrefix };
}

/** Field names, lower case: tokens, each once, never Cache-Control itself. */
function targetedFields(value: unknown): readonly string[] {
  if (value == null) return CACHE_DEFAULTS.targetedFields;
  const name = 'cache.targetedFields';
  if (!Array.isArray(value)) throw invalid(name, `${name} must be an array of header field names (such as 'cdn-cache-control'), got ${String(value)}`);
  const fields: string[] = [];
  value.forEach((field: unknown, i) => {
    if (typeof field !== 'string' || !isToken(field)) {
      throw invalid(name, `${name}[${i}] must be a header field name (a token such as 'handoff-cache-control'), got ${JSON.stringify(field)}`);
    }
    const lower = field.toLowerCase();
    if (lower === 'cache-control') throw invalid(name, `${name} must not name Cache-Control: targeted fields take precedence over it`);
    if (fields.includes(lower)) throw invalid(name, `${name} names ${lower} twice`);
    fields.push(lower);
  });
  return fields;
}

/** Validates the `cache` option once, where it enters: `undefined` when caching is off. */
export function resolveCacheOptions(value: unknown): ResolvedCacheOptions | undefined {
  if (value == null || value === false) return undefined;
  if (value !== true && (typeof value !== 'object' || Array.isArray(value))) {
    throw invalid('cache', `cache must be true, false or an object of cache options, got ${String(value)}`);
  }
  const o = (value === true ? {} : value) as CacheOptions;
  if (o.onError != null && typeof o.onError !== 'function') throw invalid('cache.onError', 'cache.onError must be a function');
  const resolved = store(o.store);
  if (resolved.kind !== 'memory' && (o.maxSize != null || o.maxEntries != null)) {
    throw invalid(
      o.maxSize != null ? 'cache.maxSize' : 'cache.maxEntries',
      'cache.maxSize and cache.maxEntries bound the memory store only; bound Redis with its maxmemory setting',
    );
  }
  return {
    store: resolved,
    maxSize: integer(o.maxSize, 'cache.maxSize', 1, CACHE_DEFAULTS.maxSize),
    maxEntries: integer(o.maxEntries, 'cache.maxEntries', 1, CACHE_DEFAULTS.maxEntries),
    maxEntrySize: integer(o.maxEntrySize, 'cache.maxEntrySize', 0, CACHE_DEFAULTS.maxEntrySize),
    maxTtl: integer(o.maxTtl, 'cache.maxTtl', 1, CACHE_DEFAULTS.maxTtl),
    lockTimeout: duration(o.lockTimeout, 'cache.lockTimeout', CACHE_DEFAULTS.lockTimeout),
    timeout: positiveDuration(o.timeout, 'cache.timeout', CACHE_DEFAULTS.timeout),
    keepRevalidatable: integer(o.keepRevalidatable, 'cache.keepRevalidatable', 0, CACHE_DEFAULTS.keepRevalidatable),
    targetedFields: targetedFields(o.targetedFields),
    storeSetCookie: flag(o.storeSetCookie, 'cache.storeSetCookie', CACHE_DEFAULTS.storeSetCookie),
    onError: o.onError ?? logError,
  };
}
