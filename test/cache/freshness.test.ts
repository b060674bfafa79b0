// RFC 9111 as a shared cache: what is stored, what is not, and how each response is marked.
import type { ProxyCallOptions } from '@handoff/core';
import type { GatewayCall } from '../helpers/engine-gateway';
import { cacheRig, hits, type CacheRig } from './helpers';

/** The origin answers with the Cache-Control (and Vary) named in the query, and a body that counts its requests. */
function origin(rigRef: () => CacheRig) {
  return (seen: { url: string; headers: Record<string, unknown> }, res: import('node:http').ServerResponse) => {
    const query = new URL(seen.url, 'http://x').searchParams;
    const cc = query.get('cc');
    if (cc) res.setHeader('cache-control', cc);
    const vary = query.get('vary');
    if (vary) res.setHeader('vary', vary);
    if (query.has('cookie')) res.setHeader('set-cookie', 'session=1');
    const language = seen.headers['accept-language'];
    res.setHeader('content-type', 'text/plain');
    res.end(`${seen.url} #${rigRef().origin.requests.length}${language ? ` ${String(language)}` : ''}`);
  };
}

const path = (cc: string, extra = '') => `/r?cc=${encodeURIComponent(cc)}${extra}`;

describe('cache storage and freshness (RFC 9111 §3, §4.2, §5.2)', () => {
  let rig: CacheRig;
  let call: (request: GatewayCall) => ProxyCallOptions = () => ({});

  beforeEach(async () => {
    call = () => ({});
    rig = await cacheRig(origin(() => rig), {}, (request) => call(request));
  });

  afterEach(() => rig.close());

  async function twice(url: string, options?: Parameters<CacheRig['get']>[1]) {
    const first = await rig.get(url, options);
    const second = await rig.get(url, options);
    return { first, second, upstream: hits(rig.origin, url) };
  }

  it('serves a fresh response from the cache, marked HIT with its Age', async () => {
    const { first, second, upstream } = await twice(path('max-age=60'));
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.status).toBe(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers.age).toMatch(/^\d+$/);
    expect(second.headers['content-type']).toBe('text/plain');
    expect(second.body.toString()).toBe(first.body.toString());
    expect(upstream).toBe(1);
    expect(rig.gw.proxy.stats.cache).toMatchObject({ hits: 1, misses: 1, waiting: 0 });
  });

  it.each([
    ['no-store', 'no-store, max-age=60'],
    ['private (the cache is shared)', 'private, max-age=60'],
    ['no freshness information at all', ''],
    ['max-age=0 without a validator', 'max-age=0'],
  ])('does not store a response with %s', async (_name, cc) => {
    const { first, second, upstream } = await twice(cc ? path(cc) : '/r?none');
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(upstream).toBe(2);
  });

  it('does not store a response that sets a cookie', async () => {
    const { second, upstream } = await twice(path('max-age=60', '&cookie'));
    expect(second.headers['x-cache']).toBe('MISS');
    expect(upstream).toBe(2);
  });

  it('uses s-maxage over max-age, as a shared cache must (§5.2.2.10)', async () => {
    const { second, upstream } = await twice(path('max-age=0, s-maxage=60'));
    expect(second.headers['x-cache']).toBe('HIT');
    expect(upstream).toBe(1);
  });

  it('keeps one entry per Vary variant (§4.1)', async () => {
    const url = path('max-age=60', '&vary=accept-language');
    const en1 = await rig.get(url, { headers: { 'accept-language': 'en' } });
    const fr1 = await rig.get(url, { headers: { 'accept-language': 'fr' } });
    const en2 = await rig.get(url, { headers: { 'accept-language': 'en' } });
    const fr2 = await rig.get(url, { headers: { 'accept-language': 'fr' } });
    expect([en1, fr1, en2, fr2].map((r) => r.headers['x-cache'])).toEqual(['MISS', 'MISS', 'HIT', 'HIT']);
    expect(en2.body.toString()).toMatch(/ en$/);
    expect(fr2.body.toString()).toMatch(/ fr$/);
    expect(hits(rig.origin, url)).toBe(2);
  });

  it('never stores a response with Vary: *', async () => {
    const { second, upstream } = await twice(path('max-age=60', '&vary=*'));
    expect(second.headers['x-cache']).toBe('MISS');
    expect(upstream).toBe(2);
  });

  it('stores a response to a request with Authorization only when the origin allows it (§3.5)', async () => {
    call = () => ({ headers: { authorization: 'Bearer service-token' } });
    const plain = await twice(path('max-age=60'));
    expect(plain.upstream).toBe(2);
    const allowed = await twice(path('public, max-age=60'));
    expect(allowed.second.headers['x-cache']).toBe('HIT');
    expect(allowed.upstream).toBe(1);
  });

  it('treats a forwarded Cookie as a credential: stored only when the origin allows it', async () => {
    call = () => ({ forwardHeaders: ['cookie'] });
    const plain = await twice(path('max-age=60'), { headers: { cookie: 'user=alice' } });
    expect(plain.second.headers['x-cache']).toBe('MISS');
    expect(plain.upstream).toBe(2);
    const allowed = await twice(path('s-maxage=60'), { headers: { cookie: 'user=alice' } });
    expect(allowed.second.headers['x-cache']).toBe('HIT');
    expect(allowed.upstream).toBe(1);
  });

  it('keys entries on the forwarded host, so a client Host header cannot poison the entry others get (RELIABILITY A9)', async () => {
    const url = path('max-age=60');
    const honest = await rig.get(url, { headers: { host: 'app.example' } });
    const evil = await rig.get(url, { headers: { host: 'evil.example' } });
    const again = await rig.get(url, { headers: { host: 'app.example' } });
    expect(rig.origin.requests.map((r) => r.headers['x-forwarded-host'])).toEqual(['app.example', 'evil.example']);
    expect(evil.headers['x-cache']).toBe('MISS');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body.toString()).toBe(honest.body.toString());
  });

  it('invalidates the stored response after a successful unsafe request to the same URL (§4.4)', async () => {
    const url = path('max-age=60');
    await rig.get(url);
    expect((await rig.get(url)).headers['x-cache']).toBe('HIT');
    call = ({ method }) => (method === 'POST' ? { method: 'POST', body: 'request' } : {});
    expect((await rig.get(url, { method: 'POST', body: 'x' })).status).toBe(200);
    expect((await rig.get(url)).headers['x-cache']).toBe('MISS');
  });

  it('answers HEAD from a stored GET response', async () => {
    const url = path('max-age=60');
    call = ({ method }) => ({ method });
    const get = await rig.get(url);
    const head = await rig.get(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(head.headers['content-length']).toBe(String(get.body.length));
    expect(head.body.length).toBe(0);
    expect(hits(rig.origin, url)).toBe(1);
  });

  it('bypasses the cache for a call with cache: false', async () => {
    const url = path('max-age=60');
    await rig.get(url);
    call = () => ({ cache: false });
    const bypassed = await rig.get(url);
    expect(bypassed.headers['x-cache']).toBeUndefined();
    expect(hits(rig.origin, url)).toBe(2);
  });
});
