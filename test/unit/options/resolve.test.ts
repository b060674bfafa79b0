import { PassThrough } from 'node:stream';
import { DEFAULTS } from '../../../packages/core/src/options/defaults';
import { FORWARD_ALL, resolveCallOptions, resolveProxyOptions, resolveUrl } from '../../../packages/core/src/options/resolve';
import type { CacheOptions } from '../../../packages/core/src/cache/options';
import type { ProxyCallOptions, ProxyOptions } from '../../../packages/core/src/types';
import { thrown } from '../helpers';

const MAX = 2 ** 31 - 1;
const BOUND = (name: string) => `${name} must be at most 2147483647 ms (about 24.8 days, the longest a Node timer waits), got 2147483648`;

const proxyDefaults = resolveProxyOptions();
const call = (options: ProxyCallOptions, base = proxyDefaults) => resolveCallOptions(options, base);

describe('duration options are bounded to what a Node timer waits', () => {
  describe.each(['connectTimeout', 'headersTimeout', 'bodyTimeout', 'queueTimeout'] as const)('%s (resolveProxyOptions)', (name) => {
    it('refuses 2**31 ms, naming the option', () => {
      const err = thrown(() => resolveProxyOptions({ [name]: 2 ** 31 }));
      expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: name, message: BOUND(name) });
    });

    it('accepts 0 and 2**31-1 ms', () => {
      expect(resolveProxyOptions({ [name]: 0 })[name]).toBe(0);
      expect(resolveProxyOptions({ [name]: MAX })[name]).toBe(MAX);
    });
  });

  describe.each(['connectTimeout', 'headersTimeout', 'bodyTimeout'] as const)('%s (resolveCallOptions)', (name) => {
    it('refuses 2**31 ms, naming the option', () => {
      const err = thrown(() => call({ [name]: 2 ** 31 }));
      expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: name, message: BOUND(name) });
    });

    it('accepts 0 and 2**31-1 ms', () => {
      expect(call({ [name]: 0 })[name]).toBe(0);
      expect(call({ [name]: MAX })[name]).toBe(MAX);
    });
  });

  describe.each(['lockTimeout', 'timeout'] as const)('cache.%s (resolveProxyOptions({ cache }))', (name) => {
    it('refuses 2**31 ms, naming the option', () => {
      const err = thrown(() => resolveProxyOptions({ cache: { [name]: 2 ** 31 } }));
      expect(err).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: `cache.${name}`, message: BOUND(`cache.${name}`) });
    });

    it('accepts 2**31-1 ms', () => {
      expect(resolveProxyOptions({ cache: { [name]: MAX } }).cache?.[name]).toBe(MAX);
    });
  });

  it('accepts a cache.lockTimeout of 0 (coalescing off)', () => {
    expect(resolveProxyOptions({ cache: { lockTimeout: 0 } }).cache?.lockTimeout).toBe(0);
  });

  it('refuses a cache.timeout of 0, which would make every lookup a miss', () => {
    expect(thrown(() => resolveProxyOptions({ cache: { timeout: 0 } }))).toMatchObject({
      option: 'cache.timeout',
      message: 'cache.timeout must be an integer >= 1, got 0',
    });
    expect(resolveProxyOptions({ cache: { timeout: 1 } }).cache?.timeout).toBe(1);
  });
});

describe('resolveProxyOptions', () => {
  it('applies the defaults', () => {
    const resolved = resolveProxyOptions();
    expect(resolved).toMatchObject({
      concurrency: DEFAULTS.concurrency,
      maxQueue: DEFAULTS.maxQueue,
      queueTimeout: DEFAULTS.queueTimeout,
      connectTimeout: DEFAULTS.connectTimeout,
      headersTimeout: DEFAULTS.headersTimeout,
      bodyTimeout: DEFAULTS.bodyTimeout,
      rateLimit: 0,
      mode: 'response',
      retryAfter: 1,
      xForwarded: 'set',
      followRedirects: 0,
      maxBodySize: 0,
      dispatcher: undefined,
      allow: undefined,
      cache: undefined,
    });
    expect(resolved.forwardHeaders('x-anything')).toBe(false);
  });

  it('keeps 0 where 0 is allowed rather than falling back to the default', () => {
    expect(resolveProxyOptions({ maxQueue: 0, retryAfter: 0, rateLimit: 0, headersTimeout: 0 })).toMatchObject({
      maxQueue: 0,
      retryAfter: 0,
      rateLimit: 0,
      headersTimeout: 0,
    });
  });

  it('refuses options that are not an object', () => {
    expect(thrown(() => resolveProxyOptions(null as never))).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', message: 'options must be an object' });
    expect(thrown(() => resolveProxyOptions('x' as never)).message).toBe('options must be an object');
  });

  it.each<[string, ProxyOptions | Record<string, unknown>, string]>([
    ['concurrency', { concurrency: 0 }, 'concurrency must be an integer >= 1, got 0'],
    ['maxQueue', { maxQueue: -1 }, 'maxQueue must be an integer >= 0, got -1'],
    ['retryAfter', { retryAfter: 0.5 }, 'retryAfter must be an integer >= 0, got 0.5'],
    ['rateLimit', { rateLimit: -1 }, 'rateLimit must be an integer >= 0, got -1'],
    ['followRedirects', { followRedirects: -1 }, 'followRedirects must be an integer >= 0, got -1'],
    ['maxBodySize', { maxBodySize: 1.5 }, 'maxBodySize must be an integer >= 0, got 1.5'],
    ['mode', { mode: 'stream' }, "mode must be 'response' or 'socket', got stream"],
    ['xForwarded', { xForwarded: true }, "xForwarded must be 'set', 'append' or false, got true"],
    ['dispatcher', { dispatcher: {} }, 'dispatcher must be an undici Dispatcher'],
    ['forwardHeaders', { forwardHeaders: 'all' }, "forwardHeaders: 'all' forwards cookie and authorization too; pass it per call where it is meant"],
    ['forwardHeaders', { forwardHeaders: ['Cookie'] }, 'forwardHeaders may not forward cookie for every call; pass it per call where it is meant'],
    ['forwardHeaders', { forwardHeaders: ['x y'] }, 'forwardHeaders holds an invalid header name: "x y"'],
    ['forwardHeaders', { forwardHeaders: [5] }, 'forwardHeaders holds an invalid header name: 5'],
    ['forwardHeaders', { forwardHeaders: 'x-a' }, "forwardHeaders must be an array of header names, 'all' (per call) or a function (name) => boolean"],
    ['cache', { cache: 'yes' }, 'cache must be true, false or an object of cache options, got yes'],
    ['cache.maxSize', { cache: { maxSize: 0 } }, 'cache.maxSize must be an integer >= 1, got 0'],
    ['cache.maxEntries', { cache: { maxEntries: -1 } }, 'cache.maxEntries must be an integer >= 1, got -1'],
    ['cache.maxTtl', { cache: { maxTtl: 0 } }, 'cache.maxTtl must be an integer >= 1, got 0'],
    ['cache.onError', { cache: { onError: 'log' } }, 'cache.onError must be a function'],
    ['cache.store', { cache: { store: 'disk' } }, `cache.store must be 'memory', { redis } or an undici cache store, got "disk"`],
    ['cache.store.redis', { cache: { store: { redis: 'http://r:6379' } } }, 'cache.store.redis must be a redis:// or rediss:// URL, got "http://r:6379"'],
    [
      'cache.maxSize',
      { cache: { store: { redis: 'redis://r:6379' }, maxSize: 10 } },
      'cache.maxSize and cache.maxEntries bound the memory store only; bound Redis with its maxmemory setting',
    ],
  ])('names %s in the error for %j', (option, options, message) => {
    expect(thrown(() => resolveProxyOptions(options as ProxyOptions))).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option, message });
  });

  it('resolves cache: true to the memory store with the cache defaults', () => {
    expect(resolveProxyOptions({ cache: true }).cache).toMatchObject({ store: { kind: 'memory' }, lockTimeout: 5_000, timeout: 500 });
    expect(resolveProxyOptions({ cache: false }).cache).toBeUndefined();
  });

  it('resolves a redis store with the default key prefix', () => {
    const options: CacheOptions = { store: { redis: 'rediss://cache.internal:6380' } };
    expect(resolveProxyOptions({ cache: options }).cache?.store).toEqual({
      kind: 'redis',
      redis: 'rediss://cache.internal:6380',
      keyPrefix: 'handoff:cache:',
    });
  });
});

describe('resolveCallOptions', () => {
  it("inherits the proxy's settings and overrides them per call", () => {
    const base = resolveProxyOptions({ headersTimeout: 1_000, bodyTimeout: 2_000, mode: 'socket', followRedirects: 3 });
    expect(call({}, base)).toMatchObject({ headersTimeout: 1_000, bodyTimeout: 2_000, mode: 'socket', followRedirects: 3 });
    expect(call({ headersTimeout: 0, mode: 'response' }, base)).toMatchObject({ headersTimeout: 0, bodyTimeout: 2_000, mode: 'response' });
  });

  it('defaults to GET and upper-cases the method', () => {
    expect(call({}).method).toBe('GET');
    expect(call({ method: 'patch' }).method).toBe('PATCH');
  });

  it('lower-cases header names and skips undefined values', () => {
    expect(call({ headers: { 'X-Api-Key': 'k', Accept: ['a', 'b'], 'x-none': undefined } }).headers).toEqual({ 'x-api-key': 'k', accept: ['a', 'b'] });
    expect(call({}).headers).toBeUndefined();
  });

  it("takes 'all' as forwarding every field", () => {
    expect(call({ forwardHeaders: 'all' }).forwardHeaders).toBe(FORWARD_ALL);
  });

  it('keeps the base policy for an empty list', () => {
    const base = resolveProxyOptions({ forwardHeaders: ['x-a'] });
    const policy = call({ forwardHeaders: [] }, base).forwardHeaders;
    expect(policy('x-a')).toBe(true);
    expect(policy('x-b')).toBe(false);
  });

  it('accepts each kind of body', () => {
    const stream = new PassThrough();
    expect(call({ body: 'request' }).body).toBe('request');
    expect(call({ body: 'text' }).body).toBe('text');
    expect(call({ body: Buffer.from('b') }).body).toEqual(Buffer.from('b'));
    expect(call({ body: stream }).body).toBe(stream);
    stream.destroy();
  });

  it("uses the proxy's cache unless the call says otherwise", () => {
    const cached = resolveProxyOptions({ cache: true });
    expect(call({}, cached).cache).toBe(true);
    expect(call({ cache: false }, cached).cache).toBe(false);
    expect(call({}).cache).toBe(false);
  });

  it('accepts an origin-form path as it is', () => {
    expect(call({ path: '/a/%2e%2e/b?x=1&y' }).path).toBe('/a/%2e%2e/b?x=1&y');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['method', { method: 'GE T' }, 'method is not a valid HTTP method: "GE T"'],
    ['method', { method: 'connect' }, 'method CONNECT cannot be proxied'],
    ['path', { path: 'relative' }, `path must be an origin-form request target ('/' then visible ASCII, no '#'), got "relative"`],
    ['path', { path: '/a#b' }, `path must be an origin-form request target ('/' then visible ASCII, no '#'), got "/a#b"`],
    ['path', { path: 5 }, `path must be an origin-form request target ('/' then visible ASCII, no '#'), got 5`],
    ['headers', { headers: ['x'] }, 'headers must be an object of name: value'],
    ['headers', { headers: { 'a b': 'x' } }, 'headers holds an invalid header name: "a b"'],
    ['headers', { headers: { 'x-a': 'a\nb' } }, 'header x-a has an invalid value: "a\\nb"'],
    ['headers', { headers: { 'x-a': [1] } }, 'header x-a has an invalid value: 1'],
    ['body', { body: 42 }, "body must be 'request', a string, a Buffer/Uint8Array or a Readable stream"],
    ['signal', { signal: {} }, 'signal must be an AbortSignal'],
    ['onHeaders', { onHeaders: 1 }, 'onHeaders must be a function'],
    ['onError', { onError: 'x' }, 'onError must be a function'],
    ['onComplete', { onComplete: {} }, 'onComplete must be a function'],
    ['cache', { cache: 'yes' }, 'cache must be true or false for a call, got yes'],
    ['cache', { cache: true }, 'cache: true needs a cache configured on the proxy (the cache option of handoff()/createProxy())'],
    ['forwardHeaders', { forwardHeaders: [''] }, 'forwardHeaders holds an invalid header name: ""'],
    ['offload', { offload: 'rules' }, 'offload must be an object of offload rules'],
    ['offload.accel', { offload: { accel: { nope: 'http://files/' } } }, `offload.accel prefix "nope" must be a plain path that starts and ends with '/'`],
    [
      'offload.keepHeaders',
      { offload: { keepHeaders: ['etag'] } },
      "offload.keepHeaders may not keep etag: it describes the handler's own body or connection, not the offloaded one",
    ],
  ])('names %s in the error for %j', (option, options, message) => {
    expect(thrown(() => call(options as ProxyCallOptions))).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option, message });
  });

  it('refuses call options that are not an object', () => {
    expect(thrown(() => call('x' as never)).message).toBe('options must be an object or an onHeaders function');
  });
});

describe('resolveUrl', () => {
  it('parses an absolute http(s) URL, or returns the URL it was given', () => {
    expect(resolveUrl('https://a.example/x').href).toBe('https://a.example/x');
    const url = new URL('http://b.example/');
    expect(resolveUrl(url)).toBe(url);
  });

  it.each([
    ['/relative', 'Upstream URL is not a valid absolute URL: /relative'],
    ['ftp://a.example/', 'Upstream URL must be http: or https:, got ftp:'],
    ['http://u:p@a.example/', 'Upstream URL must not carry credentials; pass an authorization header instead'],
    // Invalid (port out of range): the message names it with its userinfo masked.
    ['http://admin:hunter2@reports.internal:99999/r/7', 'Upstream URL is not a valid absolute URL: http://***@reports.internal:99999/r/7'],
    ['https://token@[bad/x', 'Upstream URL is not a valid absolute URL: https://***@[bad/x'],
  ])('refuses %s', (url, message) => {
    expect(thrown(() => resolveUrl(url))).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', message });
  });

  it('keeps the parse failure as the cause', () => {
    expect(thrown(() => resolveUrl('nope')).cause).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_URL' });
  });
});
