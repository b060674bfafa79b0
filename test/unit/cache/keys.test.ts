import { primaryKey, storedResult, variantId, varyMatches, type CacheValue } from '../../../packages/core/src/cache/keys';

describe('primaryKey', () => {
  it('is the method and the target URI', () => {
    expect(primaryKey({ origin: 'http://a.example:8080', method: 'GET', path: '/x?y=1' })).toBe('GET http://a.example:8080/x?y=1');
  });

  it('tells methods, origins and paths apart', () => {
    const base = { origin: 'http://a.example', method: 'GET', path: '/x' };
    const keys = new Set([
      primaryKey(base),
      primaryKey({ ...base, method: 'HEAD' }),
      primaryKey({ ...base, origin: 'https://a.example' }),
      primaryKey({ ...base, path: '/x?' }),
    ]);
    expect(keys.size).toBe(4);
  });
});

describe('variantId', () => {
  it('is empty without Vary values', () => {
    expect(variantId(undefined)).toBe('');
    expect(variantId({})).toBe('');
  });

  it('does not depend on the order of the names', () => {
    expect(variantId({ 'accept-encoding': 'gzip', cookie: 'a=1' })).toBe(variantId({ cookie: 'a=1', 'accept-encoding': 'gzip' }));
  });

  it('tells different values apart, an absent header (null) included', () => {
    const ids = new Set([
      variantId({ 'accept-encoding': 'gzip' }),
      variantId({ 'accept-encoding': 'br' }),
      variantId({ 'accept-encoding': null }),
      variantId({ 'accept-encoding': ['gzip'] }),
      variantId({ accept: 'gzip' }),
    ]);
    expect(ids.size).toBe(5);
  });
});

describe('varyMatches', () => {
  it('matches anything when the stored response has no Vary', () => {
    expect(varyMatches(undefined, { accept: 'x' })).toBe(true);
    expect(varyMatches(undefined, undefined)).toBe(true);
  });

  it('matches equal values', () => {
    const vary = { 'accept-encoding': 'gzip', 'accept-language': 'en' };
    expect(varyMatches(vary, { 'accept-encoding': 'gzip', 'accept-language': 'en', other: 'x' })).toBe(true);
  });

  it('does not match a different value', () => {
    expect(varyMatches({ 'accept-encoding': 'gzip' }, { 'accept-encoding': 'br' })).toBe(false);
  });

  it('matches a header absent on both sides, and not one absent on one side only', () => {
    expect(varyMatches({ cookie: null }, {})).toBe(true);
    expect(varyMatches({ cookie: null }, undefined)).toBe(true);
    expect(varyMatches({ cookie: null }, { cookie: 'a=1' })).toBe(false);
    expect(varyMatches({ cookie: 'a=1' }, {})).toBe(false);
  });

  it('compares arrays element by element, and never an array with a string', () => {
    expect(varyMatches({ accept: ['a', 'b'] }, { accept: ['a', 'b'] })).toBe(true);
    expect(varyMatches({ accept: ['a', 'b'] }, { accept: ['b', 'a'] })).toBe(false);
    expect(varyMatches({ accept: ['a', 'b'] }, { accept: ['a'] })).toBe(false);
    expect(varyMatches({ accept: ['a'] }, { accept: 'a' })).toBe(false);
  });
});

describe('storedResult', () => {
  const value: CacheValue = {
    statusCode: 200,
    statusMessage: 'OK',
    headers: { 'content-type': 'text/plain' },
    vary: { 'accept-encoding': 'gzip' },
    etag: '"v1"',
    cacheControlDirectives: { 'max-age': 60 },
    cachedAt: 1000,
    staleAt: 61_000,
    deleteAt: 120_000,
  };

  it("carries the stored value's fields", () => {
    const result = storedResult(value, Buffer.from('hi'));
    expect(result).toMatchObject({
      statusCode: 200,
      statusMessage: 'OK',
      headers: { 'content-type': 'text/plain' },
      vary: { 'accept-encoding': 'gzip' },
      etag: '"v1"',
      cacheControlDirectives: { 'max-age': 60 },
      cachedAt: 1000,
      staleAt: 61_000,
      deleteAt: 120_000,
    });
  });

  it('defaults the cache-control directives to none', () => {
    const { cacheControlDirectives: _omitted, ...bare } = value;
    expect(storedResult(bare, Buffer.alloc(0)).cacheControlDirectives).toEqual({});
  });

  it('replays an empty body as no chunk, and a small body as one', () => {
    expect(storedResult(value, Buffer.alloc(0)).body).toEqual([]);
    const small = Buffer.alloc(64 * 1024, 1);
    expect(storedResult(value, small).body).toEqual([small]);
  });

  it('replays a larger body in 64 KiB chunks that add up to it', () => {
    const body = Buffer.alloc(2 * 64 * 1024 + 5);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const chunks = storedResult(value, body).body as Buffer[];
    expect(chunks.map((chunk) => chunk.length)).toEqual([65_536, 65_536, 5]);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });
});
