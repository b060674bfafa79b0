// A client's conditional GET that makes the cache revalidate a stale entry: the client gets
// its 304 and the freshened entry stays stored for everyone. The transfer used to abort the
// body it did not need ("Upstream body not needed"), and the cache's write with it.
import type http from 'node:http';
import type { ProxyCallOptions } from '@handoff/core';
import { cacheRig, hits, type CacheRig, storeRows } from './helpers';

describe.each(storeRows())("a client's conditional GET through revalidation (%s store)", (_name, store) => {
  let rig: CacheRig;

  async function start(respond: (headers: http.IncomingHttpHeaders, res: http.ServerResponse) => void, call: ProxyCallOptions = {}): Promise<void> {
    rig = await cacheRig((seen, res) => respond(seen.headers, res), { cache: store.cache() }, call);
    await rig.gw.proxy.ready();
  }

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  /** Stale at once (max-age=0), revalidated with its ETag; a 304 makes it fresh for a minute. */
  function versioned(headers: http.IncomingHttpHeaders, res: http.ServerResponse): void {
    res.setHeader('etag', '"v1"');
    if (headers['if-none-match'] === '"v1"') {
      res.setHeader('cache-control', 'max-age=60');
      res.statusCode = 304;
      return void res.end();
    }
    res.setHeader('cache-control', 'max-age=0');
    res.end('version one');
  }

  it('answers 304 and keeps the freshened entry: the next plain request is a HIT', async () => {
    await start(versioned);
    await rig.get('/doc');
    const conditional = await rig.get('/doc', { headers: { 'if-none-match': '"v1"' } });
    expect([conditional.status, conditional.headers['x-cache'], conditional.body.length]).toEqual([304, 'REVALIDATED', 0]);
    expect(rig.origin.requests[1]!.headers['if-none-match']).toBe('"v1"');
    expect((await rig.gw.handles[1]!.done).error).toBeUndefined();
    const next = await rig.get('/doc');
    expect([next.status, next.headers['x-cache'], next.body.toString()]).toEqual([200, 'HIT', 'version one']);
    expect(hits(rig.origin, '/doc')).toBe(2);
    expect(rig.storeErrors).toEqual([]);
  });

  it('stores a new 200 whole when the client gets no body of it (onHeaders answers 304)', async () => {
    const body = 'x'.repeat(200_000);
    let bodiless = true;
    await start(
      (_headers, res) => {
        res.setHeader('cache-control', 'max-age=60');
        res.end(body);
      },
      { onHeaders: (head) => (bodiless ? { ...head, status: 304 } : head) },
    );
    const first = await rig.get('/big');
    expect([first.status, first.headers['x-cache'], first.body.length]).toEqual([304, 'MISS', 0]);
    expect((await rig.gw.handles[0]!.done).error).toBeUndefined();
    bodiless = false;
    const next = await rig.get('/big');
    expect([next.status, next.headers['x-cache'], next.body.toString() === body]).toEqual([200, 'HIT', true]);
    expect(hits(rig.origin, '/big')).toBe(1);
    expect(rig.storeErrors).toEqual([]);
  });

  it('drops a body larger than the cache stores instead of reading it on', async () => {
    rig = await cacheRig(
      (_seen, res) => {
        res.setHeader('cache-control', 'max-age=60');
        res.end('y'.repeat(10_000));
      },
      { cache: { ...store.cache(), maxEntrySize: 1_000 } },
      { onHeaders: (head) => ({ ...head, status: 304 }) },
    );
    await rig.gw.proxy.ready();
    expect((await rig.get('/large')).status).toBe(304);
    expect((await rig.get('/large')).headers['x-cache']).toBe('MISS');
    expect(hits(rig.origin, '/large')).toBe(2);
    expect(rig.storeErrors).toEqual([]);
  });
});
