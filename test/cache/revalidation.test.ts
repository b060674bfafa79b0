// RFC 9111 §4.3: stale or no-cache entries are revalidated with conditional requests; a 304 refreshes them.
import type http from 'node:http';
import type { Reply } from '../helpers/client';
import { until } from '../helpers/wait';
import { cacheRig, hits, type CacheRig } from './helpers';
import type { SeenRequest } from '../helpers/recording-upstream';

interface Version {
  etag?: string;
  lastModified?: string;
  cacheControl: string;
  body: string;
}

describe('cache revalidation (RFC 9111 §4.3)', () => {
  let rig: CacheRig;
  let current: Version;
  /** What the origin answers to a request that still matches: 304, or fail with 500. */
  let onMatch: 'not-modified' | 'error' = 'not-modified';
  /** An ETag the next 304 carries instead of the current one. */
  let mismatched: string | undefined;

  function respond(seen: SeenRequest, res: http.ServerResponse): void {
    if (onMatch === 'error' && rig.origin.requests.length > 1) {
      res.statusCode = 500;
      return void res.end('origin down');
    }
    const matches =
      (current.etag !== undefined && seen.headers['if-none-match'] === current.etag) ||
      (current.etag === undefined && current.lastModified !== undefined && seen.headers['if-modified-since'] === current.lastModified);
    if (current.etag) res.setHeader('etag', current.etag);
    if (current.lastModified) res.setHeader('last-modified', current.lastModified);
    res.setHeader('cache-control', current.cacheControl);
    if (matches && mismatched) {
      res.setHeader('etag', mismatched);
      mismatched = undefined;
      res.statusCode = 304;
      return void res.end();
    }
    if (matches) {
      res.statusCode = 304;
      return void res.end();
    }
    res.setHeader('content-type', 'text/plain');
    res.end(current.body);
  }

  beforeEach(async () => {
    onMatch = 'not-modified';
    mismatched = undefined;
    rig = await cacheRig((seen, res) => respond(seen, res));
  });

  afterEach(() => rig.close());

  it('revalidates a stale entry with If-None-Match and serves it after a 304, marked REVALIDATED', async () => {
    current = { etag: '"v1"', cacheControl: 'max-age=0', body: 'version one' };
    const first = await rig.get('/doc');
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await rig.get('/doc');
    expect(rig.origin.requests[1]!.headers['if-none-match']).toBe('"v1"');
    expect(second.status).toBe(200);
    expect(second.headers['x-cache']).toBe('REVALIDATED');
    expect(second.headers.etag).toBe('"v1"');
    expect(second.headers.age).toBe('0');
    expect(second.headers.warning).toBeUndefined();
    expect(second.body.toString()).toBe('version one');
    expect(rig.gw.proxy.stats.cache).toMatchObject({ misses: 1, revalidated: 1 });
  });

  it('freshens the stored response with the 304: its freshness and header fields apply from then on (§4.3.4)', async () => {
    current = { etag: '"v1"', cacheControl: 'max-age=0', body: 'version one' };
    await rig.get('/doc');
    // The 304 grants 60 s of freshness from now.
    current = { etag: '"v1"', cacheControl: 'max-age=60', body: 'unused' };
    expect((await rig.get('/doc')).headers['x-cache']).toBe('REVALIDATED');
    const hit = await rig.get('/doc');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['cache-control']).toBe('max-age=60');
    expect(hit.body.toString()).toBe('version one');
    expect(hits(rig.origin, '/doc')).toBe(2);
  });

  it('does not use a 304 whose strong ETag differs from the stored one: the response is fetched again', async () => {
    current = { etag: '"v1"', cacheControl: 'max-age=0', body: 'version one' };
    await rig.get('/doc');
    onMatch = 'not-modified';
    // An origin that answers 304 with another ETag: the stored response is not the one it validates.
    mismatched = '"v9"';
    const reply = await rig.get('/doc');
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('version one');
    expect(reply.headers['x-cache']).toBe('MISS');
    expect(hits(rig.origin, '/doc')).toBe(3);
  });

  it('revalidates with If-Modified-Since when the entry has only Last-Modified', async () => {
    const lastModified = new Date(Date.now() - 3_600_000).toUTCString();
    current = { lastModified, cacheControl: 'max-age=0', body: 'dated' };
    await rig.get('/dated');
    const second = await rig.get('/dated');
    expect(rig.origin.requests[1]!.headers['if-modified-since']).toBe(lastModified);
    expect(second.headers['x-cache']).toBe('REVALIDATED');
    expect(second.body.toString()).toBe('dated');
  });

  it('replaces the entry when revalidation brings a new representation', async () => {
    current = { etag: '"v1"', cacheControl: 'max-age=0', body: 'version one' };
    await rig.get('/doc');
    current = { etag: '"v2"', cacheControl: 'max-age=60', body: 'version two' };
    const changed = await rig.get('/doc');
    expect(changed.headers['x-cache']).toBe('MISS');
    expect(changed.body.toString()).toBe('version two');
    const cached = await rig.get('/doc');
    expect(cached.headers['x-cache']).toBe('HIT');
    expect(cached.body.toString()).toBe('version two');
    expect(hits(rig.origin, '/doc')).toBe(2);
  });

  it('respects Cache-Control: no-cache from the origin: stored, but never reused without asking the origin (§5.2.2.4)', async () => {
    current = { etag: '"nc"', cacheControl: 'no-cache', body: 'always ask' };
    await rig.get('/nc');
    const second = await rig.get('/nc');
    expect(second.headers['x-cache']).toBe('REVALIDATED');
    expect(rig.origin.requests[1]!.headers['if-none-match']).toBe('"nc"');
    const third = await rig.get('/nc');
    expect(third.headers['x-cache']).toBe('REVALIDATED');
    expect(third.body.toString()).toBe('always ask');
    expect(rig.origin.requests.slice(1).map((r) => r.headers['if-none-match'])).toEqual(['"nc"', '"nc"']);
  });

  it('serves a fresh entry without asking the origin, then revalidates once it is stale', async () => {
    current = { etag: '"f"', cacheControl: 'max-age=60', body: 'fresh' };
    await rig.get('/fresh');
    expect((await rig.get('/fresh')).headers['x-cache']).toBe('HIT');
    expect(hits(rig.origin, '/fresh')).toBe(1);
  });

  it('does not serve a stale must-revalidate entry when the origin fails; the error is relayed (§4.2.4)', async () => {
    current = { etag: '"m"', cacheControl: 'max-age=0, must-revalidate', body: 'strict' };
    await rig.get('/strict');
    onMatch = 'error';
    const failed = await rig.get('/strict');
    expect(failed.status).toBe(500);
    expect(failed.headers['x-cache']).toBe('MISS');
  });

  it('serves a stale entry within stale-if-error when the origin fails, marked STALE (RFC 5861)', async () => {
    current = { etag: '"s"', cacheControl: 'max-age=0, stale-if-error=60', body: 'kept' };
    await rig.get('/kept');
    onMatch = 'error';
    const stale = await rig.get('/kept');
    expect(stale.status).toBe(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body.toString()).toBe('kept');
  });

  it('serves a stale entry at once within stale-while-revalidate, marked STALE, and refreshes it in the background (RFC 5861)', async () => {
    current = { etag: '"w1"', cacheControl: 'max-age=0, stale-while-revalidate=60', body: 'old' };
    await rig.get('/swr');
    current = { etag: '"w2"', cacheControl: 'max-age=60', body: 'new' };
    const stale = await rig.get('/swr');
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body.toString()).toBe('old');
    await until(() => hits(rig.origin, '/swr') === 2, 'the background revalidation');
    let fresh!: Reply;
    await until(async () => (fresh = await rig.get('/swr')).body.toString() === 'new', 'the refreshed entry to be served');
    expect(fresh.headers['x-cache']).toBe('HIT');
    expect(fresh.body.toString()).toBe('new');
  });

  describe("a client's own conditional request (RFC 9111 §4.3.2)", () => {
    it('is answered 304 by the cache when its ETag matches the fresh entry, without asking the origin', async () => {
      current = { etag: '"c1"', cacheControl: 'max-age=60', body: 'client copy' };
      const first = await rig.get('/c', { headers: { 'if-none-match': '"c1"' } });
      // A miss goes upstream without the client's validator, and the full response is relayed and stored.
      expect(first.status).toBe(200);
      expect(rig.origin.requests[0]!.headers['if-none-match']).toBeUndefined();
      const second = await rig.get('/c', { headers: { 'if-none-match': 'W/"other", "c1"' } });
      expect(second.status).toBe(304);
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.headers.etag).toBe('"c1"');
      expect(second.body.length).toBe(0);
      const other = await rig.get('/c', { headers: { 'if-none-match': '"old"' } });
      expect(other.status).toBe(200);
      expect(other.body.toString()).toBe('client copy');
      expect(hits(rig.origin, '/c')).toBe(1);
    });

    it('is answered 304 on If-Modified-Since when the entry has not changed since', async () => {
      const lastModified = new Date(Date.now() - 3_600_000).toUTCString();
      current = { lastModified, cacheControl: 'max-age=60', body: 'dated copy' };
      await rig.get('/d');
      const since = await rig.get('/d', { headers: { 'if-modified-since': new Date().toUTCString() } });
      expect(since.status).toBe(304);
      const before = await rig.get('/d', { headers: { 'if-modified-since': new Date(Date.now() - 7_200_000).toUTCString() } });
      expect(before.status).toBe(200);
      expect(hits(rig.origin, '/d')).toBe(1);
    });
  });
});
