/**
 * A client's own conditional GET (a browser revalidating its copy) is answered by
 * the cache, as RFC 9111 §4.3.2 asks of a cache holding the response: undici's
 * interceptor would instead forward every conditional request upstream and then
 * send the full stored response. So the proxy keeps the client's validators off
 * the upstream request and evaluates them against what the cache serves.
 */
export interface ClientConditional {
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
}

/** Removes If-None-Match and If-Modified-Since from the upstream headers and returns them, if there were any. */
export function takeConditional(headers: Record<string, string | string[]>): ClientConditional | undefined {
  const ifNoneMatch = headers['if-none-match'];
  const ifModifiedSince = headers['if-modified-since'];
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return undefined;
  delete headers['if-none-match'];
  delete headers['if-modified-since'];
  return {
    ifNoneMatch: Array.isArray(ifNoneMatch) ? ifNoneMatch.join(', ') : ifNoneMatch,
    ifModifiedSince: Array.isArray(ifModifiedSince) ? ifModifiedSince[0] : ifModifiedSince,
  };
}

/** Whether a 200 response may be answered with 304 Not Modified (RFC 9110 §13.1.2, §13.1.3, §13.2.2). */
export function notModified(conditional: ClientConditional, status: number, headers: Record<string, string | string[]>): boolean {
  if (status !== 200) return false;
  const etag = headers.etag;
  if (conditional.ifNoneMatch !== undefined) {
    // `*` matches any current representation, with or without an ETag (§13.1.2).
    if (conditional.ifNoneMatch.trim() === '*') return true;
    if (typeof etag !== 'string') return false;
    const opaque = weak(etag);
    return entityTags(conditional.ifNoneMatch).some((tag) => weak(tag) === opaque);
  }
  const lastModified = headers['last-modified'];
  if (conditional.ifModifiedSince === undefined || typeof lastModified !== 'string') return false;
  const since = Date.parse(conditional.ifModifiedSince);
  const modified = Date.parse(lastModified);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/**
 * The entity-tags of an If-None-Match list (RFC 9110 §8.8.3): a comma separates them only
 * outside the quotes, since an opaque tag may hold one (`"a,b"`).
 */
function entityTags(list: string): string[] {
  return list.match(ENTITY_TAG) ?? [];
}

const ENTITY_TAG = /(?:W\/)?"[^"]*"/g;

/** Weak comparison: W/"x" and "x" match. */
function weak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}
