// RFC 9110 §8.6: a 304 may carry the Content-Length of the representation it validates, and
// has no body. Through every store and without a cache, such a 304 freshens the stored
// response (or is relayed as it is) — the client gets the stored 200, or a 304 when it asked
// conditionally — and the entry stays stored. (undici counts that length against the absent
// body: upstream/not-modified.ts.)
import type http from 'node:http';
import { request } from '../helpers/client';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import { cacheRig, hits, type CacheRig, storeRows } from './helpers';

/** max-age=0 with an ETag: revalidated on every use; the 304 says `Content-Length: 11` and makes it fresh. */
function origin(seen: { headers: http.IncomingHttpHeaders }, res: http.ServerResponse): void {
  res.setHeader('etag', '"v1"');
  if (seen.headers['if-none-match'] === '"v1"') {
    res.writeHead(304, { 'content-length': '11', 'cache-control': 'max-age=60' });
    return void res.end();
  }
  res.setHeader('cache-control', 'max-age=0');
  res.end('stored body');
}

describe.each(storeRows())('a 304 with Content-Length and no body (%s store)', (_name, store) => {
  let rig: CacheRig;

  beforeEach(async () => {
    rig = await cacheRig(origin, { cache: store.cache() });
    await rig.gw.proxy.ready();
  });

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  it('freshens the entry: the client gets the stored 200, and the next request is a HIT', async () => {
    await rig.get('/r');
    const revalidated = await rig.get('/r', { timeout: 5_000 });
    expect([revalidated.status, revalidated.body.toString(), revalidated.headers['x-cache']]).toEqual([200, 'stored body', 'REVALIDATED']);
    expect(revalidated.headers['content-length']).toBe('11');
    expect((await rig.gw.handles[1]!.done).error).toBeUndefined();
    const next = await rig.get('/r');
    expect([next.status, next.body.toString(), next.headers['x-cache']]).toEqual([200, 'stored body', 'HIT']);
    expect(hits(rig.origin, '/r')).toBe(2);
    expect(rig.storeErrors).toEqual([]);
  });

  it('answers a conditional client 304 and keeps the entry', async () => {
    await rig.get('/c');
    const conditional = await rig.get('/c', { headers: { 'if-none-match': '"v1"' }, timeout: 5_000 });
    expect([conditional.status, conditional.body.length, conditional.headers['x-cache']]).toEqual([304, 0, 'REVALIDATED']);
    const next = await rig.get('/c');
    expect([next.status, next.body.toString(), next.headers['x-cache']]).toEqual([200, 'stored body', 'HIT']);
    expect(hits(rig.origin, '/c')).toBe(2);
  });
});

describe('a 304 with Content-Length and no body, cache off', () => {
  let upstream: RecordingUpstream;
  let proxy: EngineGateway;

  afterEach(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('is relayed as a bodiless 304, and the proxy goes on answering', async () => {
    upstream = await recordingUpstream(origin);
    proxy = await passThrough(upstream.url, {}, { forwardHeaders: ['if-none-match'] });
    const reply = await request(proxy.url, { path: '/n', headers: { 'if-none-match': '"v1"' }, timeout: 5_000 });
    expect([reply.status, reply.body.length, reply.headers.etag]).toEqual([304, 0, '"v1"']);
    expect((await proxy.handles[0]!.done).error).toBeUndefined();
    const plain = await request(proxy.url, { path: '/n', timeout: 5_000 });
    expect([plain.status, plain.body.toString()]).toEqual([200, 'stored body']);
  });
});
