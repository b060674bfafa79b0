import type { Writable } from 'node:stream';
import { ProxyError } from '../errors';
import { StoreWrite, type WriteOutcome } from './store-write';
import { primaryKey, type UrlKey, type CacheKey, type CacheStore, type CacheValue, type GetResult } from './keys';

export interface GuardSettings {
  /** ms a store call may take before it counts as a miss (or a skipped write). */
  timeout: number;
  /** Seconds an entry is kept at most, whatever its freshness says. */
  maxTtl: number;
  /** Seconds a stale entry with a validator is kept past its freshness (within maxTtl). */
  keepRevalidatable: number;
  /** Called once per outage: on the first failure after the store last worked. */
  onError: (err: ProxyError) => void;
}

/** Request fields a shared cache treats as credentials (RFC 9111 §3.5; Cookie by this proxy's policy). */
const CREDENTIALS = ['authorization', 'cookie'] as const;

/**
 * Request fields every stored response is keyed on as if the origin had named them
 * in Vary. The proxy sets them from the client's Host and connection, and an origin
 * that builds absolute links from them would otherwise let one client's Host poison
 * the entry everyone is served (RELIABILITY A9).
 */
const ALWAYS_KEYED = ['x-forwarded-host', 'x-forwarded-proto'] as const;

/**
 * Wraps a store with the rules this proxy adds to undici's cache interceptor:
 *
 * - Store failures never fail a request: a failing or slow `get` is a miss, a failing
 *   write is skipped, and one error is reported per outage (not one per request).
 * - Cookie counts as a credential like Authorization: a response to a request that
 *   carried either is stored only when the origin allows it explicitly (`public`,
 *   `s-maxage` or `must-revalidate`). undici checks only Authorization.
 * - Entries are keyed on ALWAYS_KEYED besides Vary, and kept at most `maxTtl`.
 * - An entry with a validator is kept `keepRevalidatable` past going stale: undici deletes
 *   it about one freshness lifetime after, so a `max-age=1` entry is gone within seconds
 *   and the next request goes out unconditional instead of revalidating.
 * - HEAD is answered from a stored GET response when there is no HEAD entry (RFC 9110 §9.3.2).
 * - Writes in progress are tracked per URL, so the request coalescer can wait until a
 *   response is stored before letting the requests that waited for it look it up.
 * - Only the store's own failures are store failures: a write undici gives up because the
 *   response failed or was aborted is discarded silently (cache/store-write.ts).
 */
export class GuardedStore implements CacheStore {
  readonly #store: CacheStore;
  readonly #settings: GuardSettings;
  readonly #writes = new Map<string, Set<Promise<void>>>();
  #failing = false;
  #outages = 0;

  constructor(store: CacheStore, settings: GuardSettings) {
    this.#store = store;
    this.#settings = settings;
  }

  get(key: CacheKey): GetResult | Promise<GetResult | undefined> | undefined {
    const result = this.#get(key);
    if (key.method !== 'HEAD') return result;
    const orGet = (found: GetResult | undefined) => found ?? this.#get({ ...key, method: 'GET' });
    return isPromise(result) ? result.then(orGet) : orGet(result);
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined {
    const directives = value.cacheControlDirectives ?? {};
    const explicit = directives.public === true || directives['s-maxage'] !== undefined || directives['must-revalidate'] === true;
    if (!explicit && CREDENTIALS.some((name) => key.headers?.[name] !== undefined)) return undefined;

    const vary = { ...value.vary };
    for (const name of ALWAYS_KEYED) vary[name] = key.headers?.[name] ?? null;
    const keep = hasValidator(value) ? value.staleAt + this.#settings.keepRevalidatable * 1000 : 0;
    const deleteAt = Math.min(Math.max(value.deleteAt, keep), Date.now() + this.#settings.maxTtl * 1000);
    let stream: Writable | undefined;
    try {
      stream = this.#store.createWriteStream(key, { ...value, vary, deleteAt });
    } catch (err) {
      this.#fail('write', key, err);
      return undefined;
    }
    return stream && this.#track(key, stream);
  }

  delete(key: CacheKey): void | Promise<void> {
    try {
      const done = this.#store.delete(key);
      if (isPromise(done)) return this.#bounded(done).then(() => this.#ok(), (err) => this.#fail('delete', key, err));
    } catch (err) {
      this.#fail('delete', key, err);
    }
  }

  /** Resolves once every write in progress for this URL has finished or failed. */
  settled(key: UrlKey): Promise<void> | undefined {
    const writes = this.#writes.get(primaryKey(key));
    return writes ? Promise.all(writes).then(() => undefined) : undefined;
  }

  /** Whether the store is failing now: from a reported failure until an operation succeeds. */
  get failing(): boolean {
    return this.#failing;
  }

  /** Times the store started failing (each reported once). */
  get outages(): number {
    return this.#outages;
  }

  /** Reports a failure the store noticed by itself (a lost connection). */
  report(err: unknown): void {
    this.#fail('connection', undefined, err);
  }

  #get(key: CacheKey): GetResult | Promise<GetResult | undefined> | undefined {
    let result: GetResult | Promise<GetResult | undefined> | undefined;
    try {
      result = this.#store.get(key);
    } catch (err) {
      this.#fail('lookup', key, err);
      return undefined;
    }
    if (!isPromise(result)) return result;
    return this.#bounded(result).then(
      (found) => {
        this.#ok();
        return found;
      },
      (err) => {
        this.#fail('lookup', key, err);
        return undefined;
      },
    );
  }

  /** The store's stream, wrapped so that only its own failures count as the store's (cache/store-write.ts). */
  #track(key: CacheKey, stream: Writable): Writable {
    const primary = primaryKey(key);
    let writes = this.#writes.get(primary);
    if (!writes) this.#writes.set(primary, (writes = new Set()));
    let done!: (outcome: WriteOutcome) => void;
    const written = new Promise<WriteOutcome>((resolve) => (done = resolve));
    // Not bounded by the timeout: the body streams at the client's pace. Each store
    // bounds its own final write, and coalesced waiters have their own time limit.
    const tracked: Promise<void> = written
      .then((outcome) => {
        if (outcome.kind === 'stored') this.#ok();
        else if (outcome.kind === 'failed') this.#fail('write', key, outcome.err);
      })
      .finally(() => {
        writes.delete(tracked);
        if (writes.size === 0 && this.#writes.get(primary) === writes) this.#writes.delete(primary);
      });
    writes.add(tracked);
    return new StoreWrite(stream, done);
  }

  /** Whether a write for this URL is in progress (a response being stored as it streams). */
  writing(key: UrlKey): boolean {
    return this.#writes.has(primaryKey(key));
  }

  /** Rejects once the store has had `timeout` ms: a slow store is a failed one. */
  #bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#settings.timeout} ms`)), this.#settings.timeout);
      timer.unref();
    });
    return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
  }

  #ok(): void {
    this.#failing = false;
  }

  #fail(operation: string, key: CacheKey | undefined, cause: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#outages++;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const target = key ? ` for ${key.method} ${key.origin}${key.path}` : '';
    this.#settings.onError(
      new ProxyError('HANDOFF_CACHE_STORE', `Cache store ${operation} failed${target} (${reason}); proxying uncached until it recovers`, {
        cause,
      }),
    );
  }
}

function hasValidator(value: CacheValue): boolean {
  return typeof value.etag === 'string' || typeof value.headers['last-modified'] === 'string';
}

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}
