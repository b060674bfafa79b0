// The cache option is validated once, where it enters, with a message naming what is wrong.
import http from 'node:http';
import { createProxy, isProxyError, type ProxyOptions } from '@handoff/core';

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
  ])('refuses %j', (options, message) => {
    rejects(options as ProxyOptions, message);
  });

  it('refuses cache: true on a call when the proxy has no cache, before touching the response', async () => {
    const proxy = createProxy();
    const server = http.createServer((req, res) => {
      try {
        proxy.fetch(req, res, 'http://127.0.0.1:1/', { cache: true });
        res.end('proxied');
      } catch (err) {
        res.end(`refused: ${(err as Error).message}`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${port}/`, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toMatch(/refused: cache: true needs a cache configured on the proxy/);
    server.close();
    await proxy.close();
  });
});
