// The cache sits inside the engine: onHeaders, the gate, modes, abort handling and stats behave the same on hits.
import type { ResponseHead } from '@handoff/core';
import { openResponse, rawRequest } from '../helpers/client';
import { until } from '../helpers/wait';
import { cacheRig, hits, type CacheRig } from './helpers';

const BIG = Buffer.alloc(2 * 1024 * 1024, 'b');

describe('the engine on cache hits', () => {
  let rig: CacheRig;

  afterEach(() => rig.close());

  function cacheable(body: Buffer | string = 'cached body') {
    return (_seen: unknown, res: import('node:http').ServerResponse) => {
      res.setHeader('cache-control', 'max-age=60');
      res.setHeader('content-type', 'text/plain');
      res.end(body);
    };
  }

  it('runs onHeaders on hits too, after the cache status is set', async () => {
    const seen: ResponseHead[] = [];
    rig = await cacheRig(cacheable(), {}, {
      onHeaders: (head) => {
        seen.push({ status: head.status, headers: { ...head.headers } });
        head.headers['x-app'] = 'gated';
        delete head.headers['content-type'];
      },
    });
    await rig.get('/h');
    const hit = await rig.get('/h');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-app']).toBe('gated');
    expect(hit.headers['content-type']).toBeUndefined();
    expect(seen.map((h) => h.headers['x-cache'])).toEqual(['MISS', 'HIT']);
    // What onHeaders changed was never stored: the stored response is the origin's.
    expect(seen[1]!.headers['content-type']).toBe('text/plain');
  });

  it('serves hits through the concurrency gate', async () => {
    let held: import('node:http').ServerResponse | undefined;
    rig = await cacheRig(
      (seen, res) => {
        if (seen.url === '/hold') return void (held = res);
        cacheable()(seen, res);
      },
      { concurrency: 1, maxQueue: 0 },
    );
    await rig.get('/g');
    const holding = rig.get('/hold');
    await until(() => held !== undefined, 'a transfer holding the only slot');
    // A hit needs a slot like any transfer: with none free and no queue it is refused.
    const refused = await rig.get('/g');
    expect(refused.status).toBe(503);
    held!.end('done');
    await holding;
    const hit = await rig.get('/g');
    expect(hit.headers['x-cache']).toBe('HIT');
  });

  it('frees the slot and stops reading the stored body when the client leaves a hit mid-body', async () => {
    rig = await cacheRig(cacheable(BIG));
    await rig.get('/big');
    const { res, req } = await openResponse(`${rig.gw.url}/big`);
    expect(res.headers['x-cache']).toBe('HIT');
    await new Promise((resolve) => res.once('data', resolve));
    req.destroy();
    await until(() => rig.gw.proxy.stats.inFlight === 0, 'the slot to be released');
    const again = await rig.get('/big');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body.length).toBe(BIG.length);
    expect(hits(rig.origin, '/big')).toBe(1);
  });

  it('serves hits in socket mode', async () => {
    rig = await cacheRig(cacheable(), {}, { mode: 'socket' });
    await rig.get('/s');
    // Same Host as the first request: the forwarded host is part of the key.
    const raw = await rawRequest(rig.gw.port, `GET /s HTTP/1.1\r\nhost: 127.0.0.1:${rig.gw.port}\r\n\r\n`);
    expect(raw.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw.text).toMatch(/\r\nx-cache: HIT\r\n/);
    expect(raw.text.endsWith('cached body')).toBe(true);
  });
});

describe('the memory store', () => {
  let rig: CacheRig;

  afterEach(() => rig.close());

  it('evicts the least recently used entry when maxEntries is reached', async () => {
    rig = await cacheRig(
      (_seen, res) => {
        res.setHeader('cache-control', 'max-age=60');
        res.end('x');
      },
      { cache: { maxEntries: 2 } },
    );
    await rig.get('/a');
    await rig.get('/b');
    expect((await rig.get('/a')).headers['x-cache']).toBe('HIT');
    await rig.get('/c');
    expect((await rig.get('/a')).headers['x-cache']).toBe('HIT');
    expect((await rig.get('/b')).headers['x-cache']).toBe('MISS');
  });

  it('keeps the bytes held within maxSize', async () => {
    const body = Buffer.alloc(10_000, 'm');
    rig = await cacheRig(
      (_seen, res) => {
        res.setHeader('cache-control', 'max-age=60');
        res.end(body);
      },
      { cache: { maxSize: 25_000 } },
    );
    for (const path of ['/1', '/2', '/3', '/4']) await rig.get(path);
    expect((await rig.get('/4')).headers['x-cache']).toBe('HIT');
    expect((await rig.get('/3')).headers['x-cache']).toBe('HIT');
    expect((await rig.get('/1')).headers['x-cache']).toBe('MISS');
  });
});
