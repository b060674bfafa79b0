// cache.storeSetCookie: a response with Set-Cookie is stored only when the option is on and the
// origin made the response explicitly public (headers-store-Set-Cookie in cache-tests).
import type http from 'node:http';
import type { CacheOptions } from '@handoff/core';
import { explicitlyPublic } from '../../packages/core/src/cache/directives';
import { hits, storeCases, type CacheRig, storeRig } from './helpers';

describe('explicitlyPublic', () => {
  it.each([
    ['public, max-age=60', true],
    ['max-age=0, S-MaxAge=60', true],
    [['max-age=60', 'public'], true],
    ['max-age=60', false],
    ['private="public", max-age=60', false],
    ['ext="s-maxage=1", max-age=60', false],
  ] as const)('%j: %s', (value, expected) => {
    expect(explicitlyPublic(value as string | string[])).toBe(expected);
  });
});

describe.each(storeCases())('Set-Cookie storage ($name store)', (store) => {
  let rig: CacheRig;

  function respond(seen: { url: string }, res: http.ServerResponse): void {
    const query = new URL(seen.url, 'http://x').searchParams;
    res.setHeader('cache-control', query.get('cc')!);
    if (query.has('cdn')) res.setHeader('cdn-cache-control', query.get('cdn')!);
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
    res.end(`body #${rig.origin.requests.length}`);
  }

  async function start(cache: CacheOptions): Promise<void> {
    rig = await storeRig(store, respond, cache);
  }

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  async function twice(path: string) {
    const first = await rig.get(path);
    await store.stored();
    const second = await rig.get(path);
    return { first, second, upstream: hits(rig.origin, path) };
  }

  it('never stores a response with Set-Cookie by default, even an explicitly public one', async () => {
    await start({});
    const { second, upstream } = await twice('/d?cc=public,max-age=60');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(second.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(upstream).toBe(2);
  });

  it.each(['public, max-age=60', 's-maxage=60'])(
    'with storeSetCookie, stores an explicitly public response (%s) with its Set-Cookie lines and replays them',
    async (cc) => {
      await start({ storeSetCookie: true });
      const path = `/p?cc=${encodeURIComponent(cc)}`;
      const { first, second, upstream } = await twice(path);
      expect(upstream).toBe(1);
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.body.toString()).toBe(first.body.toString());
      for (const reply of [first, second]) {
        expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
        expect(reply.headers['cache-control']).toBe(cc);
        expect(reply.headers['x-handoff-stash']).toBeUndefined();
      }
    },
  );

  it('with storeSetCookie, still does not store a response that is not explicitly public', async () => {
    await start({ storeSetCookie: true });
    const { second, upstream } = await twice('/n?cc=max-age=60');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(upstream).toBe(2);
  });

  it('with storeSetCookie, reads “explicitly public” from a targeted field when one applies', async () => {
    await start({ storeSetCookie: true });
    const targeted = await twice('/t?cc=private&cdn=public,%20max-age=60');
    expect([targeted.upstream, targeted.second.headers['x-cache']]).toEqual([1, 'HIT']);
    expect(targeted.second.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    const overruled = await twice('/o?cc=public,max-age=60&cdn=max-age=60');
    expect([overruled.upstream, overruled.second.headers['x-cache']]).toEqual([2, 'MISS']);
  });
});
