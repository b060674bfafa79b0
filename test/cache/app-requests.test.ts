// The app's own outgoing requests through the proxy's cache (forwardcache's use case):
// proxy.cachedDispatcher with undici.request, and proxy.cachedFetch.
import { randomUUID } from 'node:crypto';
import { createProxy, ProxyError, type HandoffProxy } from '@handoff/core';
import { request as undiciRequest } from 'undici';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import { hits } from './helpers';

describe("the app's own requests through the cache", () => {
  let origin: RecordingUpstream;
  let proxy: HandoffProxy;

  beforeEach(async () => {
    origin = await recordingUpstream((seen, res) => {
      if (seen.url === '/private') res.setHeader('cache-control', 'private, max-age=60');
      else res.setHeader('cache-control', 'public, max-age=60');
      if (seen.url === '/slow') return void setTimeout(() => res.end(`body of ${seen.url}`), 300);
      res.end(`body of ${seen.url}`);
    });
  });

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  it('answers a second undici.request through cachedDispatcher from the store, marked HIT, counted', async () => {
    proxy = createProxy({ cache: true });
    const first = await undiciRequest(`${origin.url}/api`, { dispatcher: proxy.cachedDispatcher });
    expect([first.statusCode, await first.body.text(), first.headers['x-cache']]).toEqual([200, 'body of /api', 'MISS']);
    const second = await undiciRequest(`${origin.url}/api`, { dispatcher: proxy.cachedDispatcher });
    expect([second.statusCode, await second.body.text(), second.headers['x-cache']]).toEqual([200, 'body of /api', 'HIT']);
    expect(hits(origin, '/api')).toBe(1);
    expect(proxy.stats.cache).toMatchObject({ hits: 1, misses: 1 });
  });

  it('cachedFetch gives a Response with x-cache, sharing entries with cachedDispatcher', async () => {
    proxy = createProxy({ cache: true });
    const first = await proxy.cachedFetch(`${origin.url}/f`);
    expect([first.status, await first.text(), first.headers.get('x-cache')]).toEqual([200, 'body of /f', 'MISS']);
    const again = await undiciRequest(`${origin.url}/f`, { dispatcher: proxy.cachedDispatcher });
    expect([await again.body.text(), again.headers['x-cache']]).toEqual(['body of /f', 'HIT']);
    expect(hits(origin, '/f')).toBe(1);
  });

  it('keeps shared-cache rules: a private response is never stored', async () => {
    proxy = createProxy({ cache: true });
    for (let i = 0; i < 2; i++) {
      const reply = await undiciRequest(`${origin.url}/private`, { dispatcher: proxy.cachedDispatcher });
      expect(reply.headers['x-cache']).toBe('MISS');
      await reply.body.text();
    }
    expect(hits(origin, '/private')).toBe(2);
  });

  it('coalesces concurrent misses of the app as it does the proxy’s', async () => {
    proxy = createProxy({ cache: true });
    const replies = await Promise.all(Array.from({ length: 10 }, () => undiciRequest(`${origin.url}/burst`, { dispatcher: proxy.cachedDispatcher })));
    const bodies = await Promise.all(replies.map((r) => r.body.text()));
    expect(new Set(bodies)).toEqual(new Set(['body of /burst']));
    expect(hits(origin, '/burst')).toBe(1);
  });

  it('lets a request waiting on a coalesced miss be aborted: it rejects at once, the leader completes', async () => {
    proxy = createProxy({ cache: true });
    const leader = undiciRequest(`${origin.url}/slow`, { dispatcher: proxy.cachedDispatcher });
    const controller = new AbortController();
    const waiter = undiciRequest(`${origin.url}/slow`, { dispatcher: proxy.cachedDispatcher, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(proxy.stats.cache!.waiting).toBe(1);
    controller.abort();
    await expect(waiter).rejects.toMatchObject({ name: 'AbortError' });
    expect(proxy.stats.cache!.waiting).toBe(0);
    expect(await (await leader).body.text()).toBe('body of /slow');
    expect(hits(origin, '/slow')).toBe(1);
  });

  it('is refused with a clear error on a proxy without a cache', async () => {
    proxy = createProxy();
    expect(() => proxy.cachedDispatcher).toThrow(ProxyError);
    expect(() => proxy.cachedDispatcher).toThrow("proxy.cachedDispatcher needs the proxy’s cache option (createProxy({ cache }))");
  });

  const REDIS_URL = process.env.REDIS_URL;
  (REDIS_URL ? it : it.skip)('is shared by two proxies on one Redis store: the second one’s first request is a HIT', async () => {
    const keyPrefix = `handoff-test:${randomUUID()}:`;
    const store = { redis: REDIS_URL!, keyPrefix };
    proxy = createProxy({ cache: { store } });
    const other = createProxy({ cache: { store } });
    await Promise.all([proxy.ready(), other.ready()]);
    try {
      const first = await undiciRequest(`${origin.url}/shared`, { dispatcher: proxy.cachedDispatcher });
      await first.body.text();
      // The entry is written to Redis once the body has ended; wait for it to be readable.
      let reply = await undiciRequest(`${origin.url}/shared`, { dispatcher: other.cachedDispatcher });
      for (let i = 0; i < 50 && reply.headers['x-cache'] !== 'HIT'; i++) {
        await reply.body.text();
        await new Promise((resolve) => setTimeout(resolve, 20));
        reply = await undiciRequest(`${origin.url}/shared`, { dispatcher: other.cachedDispatcher });
      }
      expect([await reply.body.text(), reply.headers['x-cache']]).toEqual(['body of /shared', 'HIT']);
    } finally {
      await other.close();
    }
  });
  if (!REDIS_URL) console.log('REDIS_URL is not set: skipping the shared-store case of the app-requests suite (CI sets it).');
});

describe('proxy.ready()', () => {
  it('resolves at once without Redis (no cache, or the memory store)', async () => {
    for (const proxy of [createProxy(), createProxy({ cache: true })]) {
      await expect(proxy.ready()).resolves.toBeUndefined();
      await proxy.close();
    }
  });

  it('refuses a bad timeout with a clear error', async () => {
    const proxy = createProxy();
    await expect(proxy.ready({ timeout: -1 })).rejects.toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS' });
    await proxy.close();
  });

  it('rejects with HANDOFF_CACHE_STORE when the Redis store is not reached within the timeout', async () => {
    const { closedPort } = await import('../helpers/servers');
    const port = await closedPort();
    const proxy = createProxy({ cache: { store: { redis: `redis://127.0.0.1:${port}`, keyPrefix: 'handoff-test:' }, onError: () => {} } });
    try {
      await expect(proxy.ready({ timeout: 300 })).rejects.toMatchObject({ code: 'HANDOFF_CACHE_STORE', message: 'Redis not connected within 300 ms (proxy.ready): the cache store' });
    } finally {
      await proxy.close();
    }
  });
});
