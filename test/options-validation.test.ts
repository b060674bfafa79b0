import http from 'node:http';
import { createProxy, ProxyError } from '@handoff/core';
import { handoff } from '@handoff/koa';
import { resolveProxyOptions } from '../packages/core/src/options/resolve';

describe('options are validated where they enter, with messages that say what is allowed', () => {
  it.each([
    [{ concurrency: 0 }, 'concurrency must be an integer >= 1, got 0'],
    [{ maxQueue: -1 }, 'maxQueue must be an integer >= 0, got -1'],
    [{ queueTimeout: 1.5 }, 'queueTimeout must be an integer >= 0, got 1.5'],
    [{ headersTimeout: '5' }, 'headersTimeout must be an integer >= 0, got 5'],
    [{ mode: 'hijack' }, "mode must be 'response' or 'socket', got hijack"],
    [{ xForwarded: 'yes' }, "xForwarded must be 'set', 'append' or false, got yes"],
    [{ forwardHeaders: ['x ok'] }, 'forwardHeaders holds an invalid header name: "x ok"'],
    [{ forwardHeaders: ['Authorization'] }, 'forwardHeaders may not forward authorization for every call; pass it per call where it is meant'],
    [{ dispatcher: {} }, 'dispatcher must be an undici Dispatcher'],
  ])('handoff(%j) throws %s', (options, message) => {
    expect(() => handoff(options as never)).toThrow(message);
    try {
      handoff(options as never);
    } catch (err) {
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).code).toBe('HANDOFF_INVALID_OPTIONS');
    }
  });

  it('keeps 0 as a value (timeouts disabled), not a fallback to the default', () => {
    const resolved = resolveProxyOptions({ queueTimeout: 0, bodyTimeout: 0, maxQueue: 0 });
    expect(resolved).toMatchObject({ queueTimeout: 0, bodyTimeout: 0, maxQueue: 0, concurrency: 64 });
  });

  it('rejects a bad close() timeout without starting to close', async () => {
    const proxy = createProxy();
    await expect(proxy.close({ timeout: -1 })).rejects.toThrow('close timeout must be an integer >= 0, got -1');
    expect(proxy.stats.closing).toBe(false);
    await proxy.close();
    expect(proxy.stats.closing).toBe(true);
  });

  describe('per call', () => {
    const proxy = createProxy();
    const req = new http.IncomingMessage(null as never);
    const res = new http.ServerResponse(req);
    afterAll(() => proxy.close());

    it.each([
      ['not a URL', {}, 'Upstream URL is not a valid absolute URL: not a URL'],
      ['/relative', {}, 'Upstream URL is not a valid absolute URL: /relative'],
      ['file:///etc/passwd', {}, 'Upstream URL must be http: or https:, got file:'],
      ['http://user:pw@host/', {}, 'Upstream URL must not carry credentials; pass an authorization header instead'],
      ['http://host/', { method: 'GE T' }, 'method is not a valid HTTP method: "GE T"'],
      ['http://host/', { method: 'connect' }, 'method CONNECT cannot be proxied'],
      ['http://host/', { headers: { 'x-a': 'a\r\nb' } }, 'header x-a has an invalid value: "a\\r\\nb"'],
      ['http://host/', { headers: { 'bad name': 'v' } }, 'headers holds an invalid header name: "bad name"'],
      ['http://host/', { body: 42 }, "body must be 'request', a string, a Buffer/Uint8Array or a Readable stream"],
      ['http://host/', { onHeaders: 'x' }, 'onHeaders must be a function'],
      ['http://host/', { rateLimit: -5 }, 'rateLimit must be an integer >= 0, got -5'],
    ])('fetch(%s, %j) throws %s before touching the response', (url, options, message) => {
      expect(() => proxy.fetch(req, res, url, options as never)).toThrow(message);
      expect(res.headersSent).toBe(false);
      expect(proxy.stats.inFlight).toBe(0);
    });
  });
});
