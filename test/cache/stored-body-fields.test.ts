// What a response's own fields let this cache do with its body (RFC 9111 §3.2, §5.2.2.3):
// a 304 never replaces the fields the stored body depends on (its coding, its digests, its
// framing), and `must-understand` limits storing to status codes whose caching rules the
// cache implements — where it does, the origin's fallback `no-store` is ignored.
import type http from 'node:http';
import { hits, storeRig, storeRows, type CacheRig } from './helpers';

describe.each(storeRows())('fields the stored body depends on (%s store)', (_name, store) => {
  let rig: CacheRig;
  /** The headers of the origin's next answer; a request with If-None-Match "v1" gets a 304 with them. */
  let fields: Record<string, string>;
  let status = 200;

  function respond(seen: { headers: http.IncomingHttpHeaders }, res: http.ServerResponse): void {
    // No Date: freshness counts from receipt. A Date is to the second, so a max-age=1
    // response sent late in a second could arrive stale and (rightly) not be stored.
    res.sendDate = false;
    res.setHeader('etag', '"v1"');
    for (const [name, value] of Object.entries(fields)) res.setHeader(name, value);
    if (seen.headers['if-none-match'] === '"v1"') {
      res.statusCode = 304;
      return void res.end();
    }
    res.statusCode = status;
    res.end('the stored bytes');
  }

  beforeEach(async () => {
    status = 200;
    rig = await storeRig(store, (seen, res) => respond(seen, res));
  });

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  it.each([
    ['content-encoding', 'x-first', 'x-second'],
    ['content-md5', 'rL0Y20zC+Fzt72VPzMSk2A==', 'N7UdGUp1E+RbVvZSTy1R8g=='],
    ['content-digest', 'sha-256=:AAAA:', 'sha-256=:BBBB:'],
  ])('a 304 does not replace the stored %s, and does replace the other fields it carries', async (name, stored, sent) => {
    fields = { 'cache-control': 'max-age=1', [name]: stored, 'x-note': 'first' };
    const first = await rig.get('/r');
    expect(first.headers[name]).toBe(stored);
    await store.stored();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    fields = { 'cache-control': 'max-age=60', [name]: sent, 'x-note': 'second' };
    const revalidated = await rig.get('/r');
    expect([revalidated.status, revalidated.headers['x-cache'], revalidated.body.toString()]).toEqual([200, 'REVALIDATED', 'the stored bytes']);
    expect([revalidated.headers[name], revalidated.headers['x-note']]).toEqual([stored, 'second']);
    await store.stored();
    const next = await rig.get('/r');
    expect([next.headers['x-cache'], next.headers[name], next.headers['x-note']]).toEqual(['HIT', stored, 'second']);
    expect(hits(rig.origin, '/r')).toBe(2);
  });

  it('does not store a must-understand response whose status code it does not implement (599), though it is fresh', async () => {
    status = 599;
    fields = { 'cache-control': 'max-age=3600, must-understand' };
    expect((await rig.get('/u')).status).toBe(599);
    await store.stored();
    const second = await rig.get('/u');
    expect([second.status, second.headers['x-cache']]).toEqual([599, 'MISS']);
    expect(hits(rig.origin, '/u')).toBe(2);
  });

  it('stores a must-understand response with a status code it implements, ignoring the fallback no-store', async () => {
    fields = { 'cache-control': 'must-understand, no-store, max-age=3600' };
    const first = await rig.get('/k');
    expect(first.headers['cache-control']).toBe('must-understand, no-store, max-age=3600');
    await store.stored();
    const second = await rig.get('/k');
    expect([second.status, second.headers['x-cache'], second.body.toString()]).toEqual([200, 'HIT', 'the stored bytes']);
    // The client gets the origin's own field, which tells caches downstream what the origin said.
    expect(second.headers['cache-control']).toBe('must-understand, no-store, max-age=3600');
    expect(hits(rig.origin, '/k')).toBe(1);
  });

  it('keeps no-store without must-understand', async () => {
    fields = { 'cache-control': 'no-store, max-age=3600' };
    await rig.get('/n');
    await store.stored();
    expect((await rig.get('/n')).headers['x-cache']).toBe('MISS');
    expect(hits(rig.origin, '/n')).toBe(2);
  });
});
