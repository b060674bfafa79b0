// The cache option is validated once, where it enters, with a message naming what is wrong.
import { createProxy, isProxyError, type ProxyOptions } from '@handoff/core';
import { request } from '../helpers/client';
import { engineGateway } from '../helpers/engine-gateway';
import { resolveCacheOptions } from '../../packages/core/src/cache/options';

function rejects(options: ProxyOptions, message: RegExp): void {
  let thrown: unknown;
  try {
    createProxy(options);
  } catch (err) {
    thrown = err;
  }
  expect(isProxyError(thrown)).toBe(true);
  expect((thrown as { code: string }).code).toBe('HANDOFF_INVALID_OPTIONS');
  expect((thrown as Error).message).toMatch(message);
}

describe('cache options', () => {
  it.each([
    [{ cache: 'yes' }, /cache must be true, false or an object of cache options, got yes/],
    [{ cache: { maxSize: 0 } }, /cache\.maxSize must be an integer >= 1, got 0/],
    [{ cache: { maxEntries: 1.5 } }, /cache\.maxEntries must be an integer >= 1, got 1\.5/],
    [{ cache: { lockTimeout: -1 } }, /cache\.lockTimeout must be an integer >= 0, got -1/],
    [{ cache: { timeout: 0 } }, /cache\.timeout must be an integer >= 1, got 0/],
    [{ cache: { store: 'disk' } }, /cache\.store must be 'memory', \{ redis \} or an undici cache store, got "disk"/],
    [{ cache: { store: { redis: 'http://localhost' } } }, /cache\.store\.redis must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ cache: { store: { redis: {} } } }, /cache\.store\.redis must be a redis:\/\/ URL or an ioredis client/],
    [{ cache: { store: { redis: 'redis://127.0.0.1:1' }, maxSize: 10 } }, /bound the memory store only/],
    [{ cache: { onError: 'log' } }, /cache\.onError must be a function/],
    [{ cache: { keepRevalidatable: -1 } }, /cache\.keepRevalidatable must be an integer >= 0, got -1/],
    [{ cache: { keepRevalidatable: '1d' } }, /cache\.keepRevalidatable must be an integer >= 0, got 1d/],
    [{ cache: { storeSetCookie: 'yes' } }, /cache\.storeSetCookie must be true or false, got "yes"/],
    [{ cache: { targetedFields: 'cdn-cache-control' } }, /cache\.targetedFields must be an array of header field names \(such as 'cdn-cache-control'\), got cdn-cache-control/],
    [{ cache: { targetedFields: ['cdn-cache-control', 'bad name'] } }, /cache\.targetedFields\[1\] must be a header field name \(a token such as 'handoff-cache-control'\), got "bad name"/],
    [{ cache: { targetedFields: [42] } }, /cache\.targetedFields\[0\] must be a header field name .*, got 42/],
    [{ cache: { targetedFields: ['Cache-Control'] } }, /cache\.targetedFields must not name Cache-Control: targeted fields take precedence over it/],
    [{ cache: { targetedFields: ['CDN-Cache-Control', 'cdn-cache-control'] } }, /cache\.targetedFields names cdn-cache-control twice/],
  ])('refuses %j', (options, message) => {
    rejects(options as ProxyOptions, message);
  });

  it('defaults: revalidatable entries kept a day, Handoff-Cache-Control then CDN-Cache-Control, Set-Cookie never stored', () => {
    expect(resolveCacheOptions(true)).toMatchObject({
      keepRevalidatable: 86_400,
      targetedFields: ['handoff-cache-control', 'cdn-cache-control'],
      storeSetCookie: false,
    });
    expect(resolveCacheOptions({ keepRevalidatable: 0, targetedFields: ['Surrogate-Control'], storeSetCookie: true })).toMatchObject({
      keepRevalidatable: 0,
      targetedFields: ['surrogate-control'],
      storeSetCookie: true,
    });
    expect(resolveCacheOptions({ targetedFields: [] })?.targetedFields).toEqual([]);
  });

  it('refuses cache: true on a call when the proxy has no cache, before touching the response', async () => {
    const gw = await engineGateway(({ res, fetch }) => {
      try {
        fetch('http://127.0.0.1:1/', { cache: true });
        res.end('proxied');
      } catch (err) {
        res.end(`refused: ${(err as Error).message}`);
      }
    });
    const body = (await request(gw.url)).body.toString();
    expect(body).toMatch(/refused: cache: true needs a cache configured on the proxy/);
    await gw.close();
  });
});
