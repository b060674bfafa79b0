import { notModified, type ClientConditional } from './conditional';
import { markResponse, newTrace, type CacheStatus, type CacheTrace } from './trace';

/** What counts the statuses (the proxy's cache: `stats.cache`). */
export interface CacheCounter {
  record(status: CacheStatus): void;
}

/** Methods answered from the cache (other methods still pass through it, which invalidates on success). */
const CACHED_METHODS = new Set(['GET', 'HEAD']);

/** GET and HEAD through the cache carry a trace telling how they were served. */
export function traceFor(cache: CacheCounter | undefined, method: string): CacheTrace | undefined {
  return cache && CACHED_METHODS.has(method) ? newTrace() : undefined;
}

/**
 * Marks how the cache served the response (`x-cache`, before onHeaders sees it) and
 * returns the status to send: 304 when a stored response satisfies the client's validators.
 */
export function markCached(
  cache: CacheCounter,
  trace: CacheTrace,
  conditional: ClientConditional | undefined,
  statusCode: number,
  headers: Record<string, string | string[]>,
): number {
  const served = markResponse(trace, statusCode, headers);
  headers['x-cache'] = served;
  cache.record(served);
  return served !== 'MISS' && conditional && notModified(conditional, statusCode, headers) ? 304 : statusCode;
}
