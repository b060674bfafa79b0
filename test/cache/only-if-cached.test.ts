// RFC 9111 §5.2.1.7: a request with `Cache-Control: only-if-cached` is answered from the
// store or with 504, never from the origin. Through handoff's layers a miss used to hang:
// undici answers it on the legacy handler API only, which none of handoff's handlers has.
import type http from 'node:http';
import { until } from '../helpers/wait';
import { cacheRig, hits, type CacheRig, storeRows } from './helpers';

describe.each(storeRows())('only-if-cached (%s store)', (_name, store) => {
  let rig: CacheRig;

  async function start(respond: (res: http.ServerResponse) => void): Promise<void> {
    rig = await cacheRig((_seen, res) => respond(res), { cache: store.cache() }, { forwardHeaders: ['cache-control'] });
    await rig.gw.proxy.ready();
  }

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  const onlyIfCached = { headers: { 'cache-control': 'only-if-cached' }, timeout: 5_000 };

  it('answers a miss 504 at once, without asking the origin, marked MISS', async () => {
    await start((res) => res.end('never'));
    const reply = await rig.get('/miss', onlyIfCached);
    expect([reply.status, reply.body.length, reply.headers['x-cache']]).toEqual([504, 0, 'MISS']);
    expect(hits(rig.origin, '/miss')).toBe(0);
    expect((await rig.gw.handles[0]!.done).error).toBeUndefined();
    expect(rig.gw.proxy.stats.cache).toMatchObject({ misses: 1, hits: 0, waiting: 0 });
  });

  it('serves a fresh stored response', async () => {
    await start((res) => {
      res.setHeader('cache-control', 'max-age=60');
      res.end('stored');
    });
    await rig.get('/fresh');
    const reply = await rig.get('/fresh', onlyIfCached);
    expect([reply.status, reply.body.toString(), reply.headers['x-cache']]).toEqual([200, 'stored', 'HIT']);
    expect(hits(rig.origin, '/fresh')).toBe(1);
  });

  it('answers 504 for a stale entry instead of revalidating it with the origin', async () => {
    await start((res) => {
      res.setHeader('cache-control', 'max-age=0');
      res.setHeader('etag', '"s1"');
      res.end('stale');
    });
    await rig.get('/stale');
    const reply = await rig.get('/stale', onlyIfCached);
    expect([reply.status, reply.headers['x-cache']]).toEqual([504, 'MISS']);
    expect(hits(rig.origin, '/stale')).toBe(1);
    // The entry is still there for a request that may revalidate it.
    const plain = await rig.get('/stale');
    expect([plain.status, plain.body.toString()]).toEqual([200, 'stale']);
  });

  it('neither leads nor waits among coalesced requests', async () => {
    let answer: (() => void) | undefined;
    await start((res) => {
      res.setHeader('cache-control', 'max-age=60');
      answer = () => res.end('slow');
    });
    const plain = rig.get('/slow');
    await until(() => rig.origin.requests.length === 1, 'the plain request at the origin');
    const reply = await rig.get('/slow', onlyIfCached);
    expect(reply.status).toBe(504);
    answer!();
    expect((await plain).body.toString()).toBe('slow');
  });
});
