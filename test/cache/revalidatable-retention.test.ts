// cache.keepRevalidatable: a stale entry with a validator is kept to be revalidated (a 304
// instead of a full response), not deleted one freshness lifetime after it went stale.
import type http from 'node:http';
import type { CacheOptions } from '@handoff/core';
import { storeCases, type CacheRig, storeRig } from './helpers';

/** The 3 s pause of the cache-tests cases that found it, past max-age=1 plus undici's retention of one more lifetime. */
const PAUSE = 3_000;

describe.each(storeCases())('retention of revalidatable entries ($name store)', (store) => {
  let rig: CacheRig;

  function respond(seen: { url: string; headers: http.IncomingHttpHeaders }, res: http.ServerResponse): void {
    // No Date: freshness counts from receipt. A Date is to the second, so a max-age=1
    // response sent late in a second could arrive stale and (rightly) not be stored.
    res.sendDate = false;
    res.setHeader('cache-control', 'max-age=1');
    if (seen.url.startsWith('/etag')) res.setHeader('etag', '"v1"');
    else if (seen.url.startsWith('/lm')) res.setHeader('last-modified', 'Mon, 01 Jan 2024 00:00:00 GMT');
    const matches = seen.headers['if-none-match'] === '"v1"' || seen.headers['if-modified-since'] === 'Mon, 01 Jan 2024 00:00:00 GMT';
    if (matches && !seen.url.startsWith('/plain')) {
      res.statusCode = 304;
      return void res.end();
    }
    res.end(`body of ${seen.url}`);
  }

  async function start(cache: CacheOptions = {}): Promise<void> {
    rig = await storeRig(store, respond, cache);
  }

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  /** A first request, the pause, and the second: what the origin was asked the second time. */
  async function afterPause(paths: string[]): Promise<Record<string, { conditional: boolean; cache: unknown; body: string }>> {
    for (const path of paths) await rig.get(path);
    await store.stored();
    await new Promise((resolve) => setTimeout(resolve, PAUSE));
    const out: Record<string, { conditional: boolean; cache: unknown; body: string }> = {};
    for (const path of paths) {
      const reply = await rig.get(path);
      const seen = rig.origin.requests.filter((r) => r.url === path);
      const last = seen[seen.length - 1]!;
      const conditional = last.headers['if-none-match'] !== undefined || last.headers['if-modified-since'] !== undefined;
      out[path] = { conditional: seen.length === 2 && conditional, cache: reply.headers['x-cache'], body: reply.body.toString() };
    }
    return out;
  }

  it(
    'revalidates a stale entry with an ETag or a Last-Modified after the pause (the default keeps it a day)',
    async () => {
      await start();
      const seen = await afterPause(['/etag', '/lm']);
      expect(seen['/etag']).toEqual({ conditional: true, cache: 'REVALIDATED', body: 'body of /etag' });
      expect(seen['/lm']).toEqual({ conditional: true, cache: 'REVALIDATED', body: 'body of /lm' });
    },
    PAUSE + 10_000,
  );

  it(
    'keeps undici’s rule with keepRevalidatable: 0: the entry is gone and the request goes out unconditional',
    async () => {
      await start({ keepRevalidatable: 0 });
      const seen = await afterPause(['/etag']);
      expect(seen['/etag']).toEqual({ conditional: false, cache: 'MISS', body: 'body of /etag' });
    },
    PAUSE + 10_000,
  );

  if (store.name === 'redis') {
    it.each([
      ['/etag', { keepRevalidatable: 100 }, 99_000, 101_000],
      ['/lm', { keepRevalidatable: 600, maxTtl: 300 }, 299_000, 300_000],
      ['/plain', { keepRevalidatable: 600 }, 1, 3_000],
    ] as const)('sets the TTL of the Redis keys for %s with %j', async (path, cache, min, max) => {
      await start(cache);
      await rig.get(path);
      await store.stored();
      const ttls = await store.ttls();
      expect(ttls.length).toBeGreaterThan(0);
      for (const ttl of ttls) {
        expect(ttl).toBeGreaterThanOrEqual(min);
        expect(ttl).toBeLessThanOrEqual(max);
      }
    });
  }
});
