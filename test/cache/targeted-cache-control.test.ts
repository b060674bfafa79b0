// RFC 9213: CDN-Cache-Control and Handoff-Cache-Control take precedence over Cache-Control and
// Expires when valid. Mirrors the cdn-cache-control group of http-tests/cache-tests, which the
// npm cut of the suite (http-cache-tests 0.4.5) lacks.
import type http from 'node:http';
import type { CacheOptions } from '@handoff/core';
import { cacheControlOf } from '../../packages/core/src/cache/targeted';
import { hits, storeCases, type CacheRig, storeRig } from './helpers';

describe('cacheControlOf (a targeted field as Cache-Control directives)', () => {
  it.each([
    ['max-age=3600', 'max-age=3600'],
    ['foobar, max-age=3600', 'foobar, max-age=3600'],
    ['no-cache="set-cookie", s-maxage=10', 'no-cache="set-cookie", s-maxage=10'],
    ['private, no-store', 'private, no-store'],
    ['max-age=99999999999', 'max-age=99999999999'],
    ['max-age=60;foo=bar', 'max-age=60'],
    ['public=?0, max-age=5', 'max-age=5'],
  ])('reads %j as %j', (field, expected) => {
    expect(cacheControlOf(field)).toBe(expected);
  });

  it.each([
    ['an unknown type (&&&&&)', 'max-age=10000, &&&&&'],
    ['a String for max-age', 'max-age="10000"'],
    ['a Decimal for max-age', 'max-age=1.5'],
    ['a negative max-age', 'max-age=-1'],
    ['a flag given a value', 'no-store=1'],
    ['an upper-case key', 'MaX-aGe=3600'],
    ['a space before =', 'max-age =100'],
    ['a space after =', 'max-age= 100'],
    ['an empty value', ''],
  ])('ignores a field with %s', (_name, field) => {
    expect(cacheControlOf(field)).toBeUndefined();
  });
});

describe.each(storeCases())('targeted cache-control ($name store)', (store) => {
  let rig: CacheRig;
  /** Response header lines per path. */
  const answers = new Map<string, [string, string][]>();

  function respond(seen: { url: string; headers: http.IncomingHttpHeaders }, res: http.ServerResponse): void {
    const lines = answers.get(seen.url.split('?')[0]!) ?? [];
    const fields = new Map<string, string[]>();
    for (const [name, value] of lines) fields.set(name, [...(fields.get(name) ?? []), value]);
    for (const [name, values] of fields) res.setHeader(name, values.length === 1 ? values[0]! : values);
    const etag = fields.get('ETag')?.[0];
    if (etag !== undefined && seen.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      return void res.end();
    }
    res.end(`body of ${seen.url} #${rig.origin.requests.length}`);
  }

  async function start(cache: CacheOptions = {}): Promise<void> {
    rig = await storeRig(store, respond, cache);
  }

  afterEach(async () => {
    await rig.close();
    await store.cleanup();
  });

  /** Two requests for `path`: whether the second was answered from the cache. */
  async function cached(path: string, lines: [string, string][]): Promise<boolean> {
    answers.set(path, lines);
    await rig.get(path);
    await store.stored();
    const second = await rig.get(path);
    return hits(rig.origin, path) === 1 && second.headers['x-cache'] === 'HIT';
  }

  const future = () => new Date(Date.now() + 10_000_000).toUTCString();
  const past = () => new Date(Date.now() - 10_000_000).toUTCString();

  describe('with the default fields', () => {
    beforeEach(() => start());

    it.each([
      ['a positive CDN-Cache-Control: max-age (cdn-max-age)', () => [['CDN-Cache-Control', 'max-age=3600']]],
      ['CDN-Cache-Control: max-age=2147483648 (cdn-max-age-max)', () => [['CDN-Cache-Control', 'max-age=2147483648']]],
      ['CDN-Cache-Control: max-age=99999999999 (cdn-max-age-max-plus)', () => [['CDN-Cache-Control', 'max-age=99999999999']]],
      ['an extension directive beside max-age (cdn-max-age-extension)', () => [['CDN-Cache-Control', 'foobar, max-age=3600']]],
      ['a past Expires (cdn-max-age-expires)', () => [['CDN-Cache-Control', 'max-age=3600'], ['Expires', past()]]],
      ['an invalid Expires (cdn-max-age-cc-max-age-invalid-expires)', () => [['CDN-Cache-Control', 'max-age=3600'], ['Expires', '0']]],
      ['a short Cache-Control: max-age (cdn-max-age-short-cc-max-age)', () => [['Cache-Control', 'max-age=1'], ['CDN-Cache-Control', 'max-age=3600']]],
      ['Cache-Control: no-store (cdn-fresh-cc-nostore)', () => [['Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age=10000']]],
      ['Handoff-Cache-Control over Cache-Control: no-store', () => [['Cache-Control', 'no-store'], ['Handoff-Cache-Control', 'max-age=60']]],
      ['Handoff-Cache-Control over CDN-Cache-Control: no-store', () => [['CDN-Cache-Control', 'no-store'], ['Handoff-Cache-Control', 'max-age=60']]],
      ['an invalid Handoff-Cache-Control, then a valid CDN-Cache-Control', () => [['Handoff-Cache-Control', 'max-age="60"'], ['CDN-Cache-Control', 'max-age=60']]],
      ['a CDN-Cache-Control in two lines', () => [['CDN-Cache-Control', 'public'], ['CDN-Cache-Control', 'max-age=60']]],
    ] as [string, () => [string, string][]][])('stores and serves a response with %s', async (_name, lines) => {
      expect(await cached(`/cached/${_name.replace(/\W+/g, '-')}`, lines())).toBe(true);
    });

    it.each([
      ['an Age past CDN-Cache-Control: max-age (cdn-max-age-age)', () => [['CDN-Cache-Control', 'max-age=3600'], ['Age', '7200']]],
      ['CDN-Cache-Control: max-age=0 (cdn-max-age-0)', () => [['CDN-Cache-Control', 'max-age=0']]],
      ['max-age=0 and a future Expires (cdn-max-age-0-expires)', () => [['CDN-Cache-Control', 'max-age=0'], ['Expires', future()]]],
      // The suite pauses past the 1 s; an Age of 1 makes it as old without a pause.
      ['a long Cache-Control: max-age (cdn-max-age-long-cc-max-age)', () => [['Cache-Control', 'max-age=3600'], ['CDN-Cache-Control', 'max-age=1'], ['Age', '1']]],
      ['CDN-Cache-Control: private (cdn-private)', () => [['CDN-Cache-Control', 'private'], ['Cache-Control', 'max-age=10000'], ['Expires', future()]]],
      ['CDN-Cache-Control: no-cache (cdn-no-cache)', () => [['CDN-Cache-Control', 'no-cache'], ['Cache-Control', 'max-age=10000'], ['Expires', future()]]],
      ['CDN-Cache-Control: no-store (cdn-no-store-cc-fresh)', () => [['Cache-Control', 'max-age=10000'], ['CDN-Cache-Control', 'no-store'], ['Expires', future()]]],
      ['an invalid field, unknown type, and Cache-Control: no-store (cdn-cc-invalid-sh-type-unknown)', () => [['CDN-Cache-Control', 'max-age=10000, &&&&&'], ['Cache-Control', 'no-store']]],
      ['an invalid field, wrong type, and Cache-Control: no-store (cdn-cc-invalid-sh-type-wrong)', () => [['CDN-Cache-Control', 'max-age="10000"'], ['Cache-Control', 'no-store']]],
      ['max-age with a space before = (cdn-max-age-space-before-equals)', () => [['Cache-Control', 'max-age=0'], ['CDN-Cache-Control', 'max-age =100']]],
      ['Handoff-Cache-Control: no-store over a fresh CDN-Cache-Control', () => [['Handoff-Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age=60']]],
    ] as [string, () => [string, string][]][])('does not serve from the cache a response with %s', async (_name, lines) => {
      expect(await cached(`/uncached/${_name.replace(/\W+/g, '-')}`, lines())).toBe(false);
    });

    it('passes CDN-Cache-Control on to the client and keeps Cache-Control, Expires and Date as the origin sent them (cdn-remove-header, cdn-*-update-exceed)', async () => {
      const expires = future();
      answers.set('/forwarded', [['Cache-Control', 'max-age=1'], ['Expires', expires], ['CDN-Cache-Control', 'max-age=10000, foo']]);
      const first = await rig.get('/forwarded');
      await store.stored();
      const second = await rig.get('/forwarded');
      for (const reply of [first, second]) {
        expect(reply.headers['cdn-cache-control']).toBe('max-age=10000, foo');
        expect(reply.headers['cache-control']).toBe('max-age=1');
        expect(reply.headers.expires).toBe(expires);
        expect(reply.headers['x-handoff-stash']).toBeUndefined();
      }
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.headers.date).toBe(first.headers.date);
      expect(second.headers.age).toMatch(/^\d+$/);
    });

    it('removes Handoff-Cache-Control from what the client gets, valid or not: it targets this proxy alone', async () => {
      answers.set('/own', [['Cache-Control', 'no-store'], ['Handoff-Cache-Control', 'max-age=60']]);
      answers.set('/own-invalid', [['Cache-Control', 'no-store'], ['Handoff-Cache-Control', '&&&']]);
      const first = await rig.get('/own');
      await store.stored();
      const second = await rig.get('/own');
      const invalid = await rig.get('/own-invalid');
      for (const reply of [first, second, invalid]) {
        expect(reply.headers['handoff-cache-control']).toBeUndefined();
        expect(reply.headers['cache-control']).toBe('no-store');
      }
      expect(second.headers['x-cache']).toBe('HIT');
    });

    it('keeps following the targeted field after a 304 freshens the entry, and the client gets the origin’s Cache-Control', async () => {
      answers.set('/revalidated', [['Cache-Control', 'max-age=10000'], ['CDN-Cache-Control', 'no-cache'], ['ETag', '"v1"']]);
      const first = await rig.get('/revalidated');
      await store.stored();
      const second = await rig.get('/revalidated');
      await store.stored();
      const third = await rig.get('/revalidated');
      expect([first.headers['x-cache'], second.headers['x-cache'], third.headers['x-cache']]).toEqual(['MISS', 'REVALIDATED', 'REVALIDATED']);
      expect(rig.origin.requests.map((r) => r.headers['if-none-match'])).toEqual([undefined, '"v1"', '"v1"']);
      for (const reply of [second, third]) {
        expect(reply.body.toString()).toBe(first.body.toString());
        expect(reply.headers['cache-control']).toBe('max-age=10000');
        expect(reply.headers['cdn-cache-control']).toBe('no-cache');
        expect(reply.headers['x-handoff-stash']).toBeUndefined();
      }
    });

    it('drops a stash field the origin sent itself: it never reaches the client', async () => {
      answers.set('/forged', [['Cache-Control', 'no-store'], ['X-Handoff-Stash', '{"origin":{"x-evil":"1"},"strip":[]}']]);
      const reply = await rig.get('/forged');
      expect(reply.headers['x-handoff-stash']).toBeUndefined();
      expect(reply.headers['x-evil']).toBeUndefined();
    });
  });

  it('honours the fields named in cache.targetedFields, in their order, and no others', async () => {
    await start({ targetedFields: ['Surrogate-Control'] });
    expect(await cached('/surrogate', [['Cache-Control', 'no-store'], ['Surrogate-Control', 'max-age=60']])).toBe(true);
    expect(await cached('/cdn-ignored', [['Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age=60']])).toBe(false);
    const reply = await rig.get('/surrogate');
    expect(reply.headers['surrogate-control']).toBeUndefined();
  });

  it('ignores targeted fields with cache.targetedFields: []', async () => {
    await start({ targetedFields: [] });
    expect(await cached('/off', [['Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age=60']])).toBe(false);
  });
});
