import type CacheInterceptor from 'undici/types/cache-interceptor';

export type CacheStore = CacheInterceptor.CacheStore;
export type CacheKey = CacheInterceptor.CacheKey;
export type CacheValue = CacheInterceptor.CacheValue;
export type GetResult = CacheInterceptor.GetResult;
export type Vary = Record<string, string | string[] | null>;

/** What names a URL's entries, whatever their Vary variants. */
export interface UrlKey {
  origin: string;
  method: string;
  path: string;
}

/** The URL key of a dispatched request. */
export function urlKey(opts: { origin?: string | URL | null; method: string; path: string }): UrlKey {
  return { origin: String(opts.origin), method: opts.method, path: opts.path };
}

/** The primary cache key (RFC 9111 §2): method and target URI. Vary selects among its variants. */
export function primaryKey(key: UrlKey): string {
  return `${key.method} ${key.origin}${key.path}`;
}

/** A stable id for one set of Vary values, so a response for the same variant replaces its predecessor. */
export function variantId(vary: Vary | undefined): string {
  if (!vary) return '';
  const names = Object.keys(vary).sort();
  return names.length === 0 ? '' : JSON.stringify(names.map((name) => [name, vary[name]]));
}

/** Whether a stored variant was produced for these request headers (RFC 9111 §4.1). */
export function varyMatches(vary: Vary | undefined, headers: Record<string, string | string[]> | undefined): boolean {
  if (!vary) return true;
  for (const name in vary) {
    if (!sameValue(headers?.[name], vary[name])) return false;
  }
  return true;
}

function sameValue(a: string | string[] | null | undefined, b: string | string[] | null | undefined): boolean {
  if (a == null || b == null) return a == null && b == null;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Chunks a cached body is replayed in, so a hit moves with backpressure like an upstream body. */
const REPLAY_CHUNK = 64 * 1024;

/** What a store's get() answers for a stored value and body. */
export function storedResult(value: CacheValue, body: Buffer): GetResult {
  return {
    statusCode: value.statusCode,
    statusMessage: value.statusMessage,
    headers: value.headers,
    vary: value.vary,
    etag: value.etag,
    cacheControlDirectives: value.cacheControlDirectives ?? {},
    cachedAt: value.cachedAt,
    staleAt: value.staleAt,
    deleteAt: value.deleteAt,
    body: replayChunks(body),
  };
}

function replayChunks(body: Buffer): Buffer[] {
  if (body.length <= REPLAY_CHUNK) return body.length === 0 ? [] : [body];
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += REPLAY_CHUNK) chunks.push(body.subarray(i, i + REPLAY_CHUNK));
  return chunks;
}
