import type { ProxyError } from '../errors';
import { isBodilessStatus } from '../http/fields';
import type { Headers, ResponseSource, SourceHead, SourceListener } from '../relay/source';
import type { CacheKey, CacheStore, GetResult } from './keys';

/**
 * A stored response that is fresh for a plain request, looked up without undici's cache
 * interceptor: the common hit needs none of its machinery (a Readable per hit, raw header
 * buffers rebuilt from the stored object, a dispatch through every interceptor), and paid
 * for it with a third of a hit's time. Only the case with no decision to make is served
 * here — a synchronous store, a request without Cache-Control, Pragma or validators, and
 * an entry within its freshness lifetime without `no-cache` or Set-Cookie (undici's own
 * conditions for serving a stored response as it is, shared cache). Everything else (stale
 * entries, revalidation, request directives, asynchronous stores) goes through undici.
 */
export function freshHit(store: CacheStore, key: CacheKey, now: number): { result: GetResult; age: number } | undefined {
  const headers = key.headers;
  if (headers && (headers['cache-control'] !== undefined || headers.pragma !== undefined)) return undefined;
  if (headers && (headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined)) return undefined;
  const result = store.get(key);
  if (result === undefined || typeof (result as Promise<unknown>).then === 'function') return undefined;
  const stored = result as GetResult;
  if (now > stored.deleteAt || now > stored.staleAt) return undefined;
  if (Object.hasOwn(stored.headers, 'set-cookie')) return undefined;
  const noCache = stored.cacheControlDirectives?.['no-cache'];
  if (noCache !== undefined && !Array.isArray(noCache)) return undefined;
  const body = stored.body;
  if (body != null && !Array.isArray(body) && !Buffer.isBuffer(body)) return undefined;
  return { result: stored, age: Math.round((now - stored.cachedAt) / 1000) };
}

/**
 * A fresh stored response as a response source: the head with its Age, then the stored
 * chunks with pause and resume, as an upstream response would come.
 */
export class StoredSource implements ResponseSource {
  readonly #chunks: readonly Buffer[];
  #index = 0;
  #paused = false;
  #done = false;

  constructor(
    private readonly listener: SourceListener,
    private readonly stored: GetResult,
    private readonly age: number,
    /** The head's headers after the cache's marking (x-cache, the status a client's validators get). */
    private readonly mark: (status: number, headers: Headers) => number,
    private readonly headOnly: boolean,
    private readonly target: string,
  ) {
    const body = stored.body;
    this.#chunks = headOnly || body == null ? [] : Buffer.isBuffer(body) ? [body] : (body as Buffer[]);
  }

  describe(): string {
    return this.target;
  }

  start(): void {
    const stored = this.stored;
    const headers: Headers = { ...stored.headers, age: String(this.age) };
    const status = this.mark(stored.statusCode, headers);
    const length = headers['content-length'];
    const head: SourceHead = {
      status,
      headers,
      length: typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : null,
      hasBody: !this.headOnly && !isBodilessStatus(stored.statusCode),
      headOnly: this.headOnly,
      rateLimit: undefined,
    };
    this.listener.onResponseStart(this, head);
    this.#flow();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#flow();
  }

  abort(_reason: Error | ProxyError): void {
    this.#done = true;
  }

  #flow(): void {
    while (!this.#done && !this.#paused && this.#index < this.#chunks.length) {
      this.listener.onResponseData(this, this.#chunks[this.#index++]!);
    }
    if (this.#done || this.#paused || this.#index < this.#chunks.length) return;
    this.#done = true;
    this.listener.onResponseEnd(this);
  }
}
