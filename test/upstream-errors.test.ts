import { Agent } from 'undici';
import { isProxyError, ProxyError } from '@handoff/core';
import { openResponse, readBody, request } from './helpers/client';
import { ADAPTER_MODES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { closedPort, rawUpstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe.each(ADAPTER_MODES)('failures before anything was sent (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  let gw: EngineGateway | undefined;
  let origin: Running | undefined;

  afterEach(async () => {
    await gw?.close();
    await origin?.close();
    gw = origin = undefined;
  });

  it('answers 502 when the upstream refuses the connection, with a typed error kept as cause', async () => {
    const port = await closedPort();
    gw = await engineGateway(({ fetch }) => fetch(`http://127.0.0.1:${port}/r`, { mode }));
    const reply = await request(gw.url);
    expect(reply.status).toBe(502);
    expect(reply.body.toString()).toBe('502 Bad Gateway\n');
    const outcome = await gw.handles[0]!.done;
    expect(outcome.status).toBe(502);
    expect(outcome.error).toBeInstanceOf(ProxyError);
    expect(isProxyError(outcome.error)).toBe(true);
    expect(outcome.error!.code).toBe('HANDOFF_UPSTREAM_UNREACHABLE');
    expect(outcome.error!.message).toContain(`GET http://127.0.0.1:${port}/r`);
    expect((outcome.error!.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(gw.errors).toEqual([outcome.error]);
  });

  it('answers 502 for an invalid upstream response (bad Content-Length)', async () => {
    origin = await rawUpstream((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 1Z\r\n\r\nx'));
    gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/r`, { mode }));
    const reply = await request(gw.url);
    expect(reply.status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_INVALID_RESPONSE');
  });

  it('answers 502 when the upstream closes without a response', async () => {
    origin = await rawUpstream((socket, req) => void req.then(() => socket.destroy()));
    gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/r`, { mode }));
    expect((await request(gw.url)).status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_UPSTREAM_RESET');
  });

  it('answers 504 when upstream headers do not arrive within headersTimeout', async () => {
    origin = await rawUpstream(() => {});
    gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/r`, { mode, headersTimeout: 100 }));
    expect((await request(gw.url)).status).toBe(504);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_HEADERS_TIMEOUT');
  });

  it('answers 504 when no connection is made within connectTimeout (a caller-owned dispatcher that never connects)', async () => {
    const hung = new Agent({ connect: () => {} });
    gw = await engineGateway(({ fetch }) => fetch('http://upstream.invalid/r', { mode, connectTimeout: 100 }), { dispatcher: hung });
    expect((await request(gw.url)).status).toBe(504);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_CONNECT_TIMEOUT');
    await gw.close();
    // The caller owns its dispatcher: the proxy's close() leaves it open.
    expect(hung.closed).toBe(false);
    await hung.destroy();
  });

  it('answers 502 when onHeaders throws, with nothing written before it', async () => {
    origin = await rawUpstream((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Up: 1\r\n\r\nhi'));
    gw = await engineGateway(({ fetch }) =>
      fetch(`${origin!.url}/r`, {
        mode,
        onHeaders: () => {
          throw new Error('hook broke');
        },
      }),
    );
    const reply = await request(gw.url);
    expect(reply.status).toBe(502);
    expect(reply.headers['x-up']).toBeUndefined();
    const { error } = await gw.handles[0]!.done;
    expect(error!.code).toBe('HANDOFF_HOOK_FAILED');
    expect((error!.cause as Error).message).toBe('hook broke');
  });

  it('answers 502 when an async onHeaders rejects', async () => {
    origin = await rawUpstream((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
    gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/r`, { mode, onHeaders: async () => Promise.reject(new Error('no')) }));
    expect((await request(gw.url)).status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_HOOK_FAILED');
  });

  it.each([
    ['a CRLF in a value', { 'x-a': 'ok\r\nx-injected: 1' }],
    ['a NUL in a value', { 'x-a': 'bad\0' }],
    ['a bad header name', { 'x a': 'v' }],
    ['an upper-case name', { 'X-A': 'v' }],
    ['a framing header', { 'transfer-encoding': 'chunked' }],
    ['a changed content-length', { 'content-length': '5' }],
  ])('answers 502 and emits nothing when onHeaders produces %s', async (_what, extra) => {
    origin = await rawUpstream((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
    gw = await engineGateway(({ fetch }) =>
      fetch(`${origin!.url}/r`, {
        mode,
        onHeaders: (res) => void Object.assign(res.headers, extra),
      }),
    );
    const reply = await request(gw.url);
    expect(reply.status).toBe(502);
    expect(reply.headers['x-injected']).toBeUndefined();
    expect(reply.rawHeaders.join('\n')).not.toContain('bad');
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_INVALID_HEADER');
  });

  it('answers 502 when onHeaders sets an interim or invalid status', async () => {
    origin = await rawUpstream((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
    gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/r`, { mode, onHeaders: (res) => void (res.status = 101) }));
    expect((await request(gw.url)).status).toBe(502);
  });

  it('lets onError answer instead of the default error response', async () => {
    const port = await closedPort();
    gw = await engineGateway(({ fetch }) =>
      fetch(`http://127.0.0.1:${port}/r`, {
        mode,
        onError: async (err) => ({ status: 503, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: err.code }) }),
      }),
    );
    const reply = await request(gw.url);
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body.toString())).toEqual({ code: 'HANDOFF_UPSTREAM_UNREACHABLE' });
  });

  it('falls back to the default answer when onError returns an invalid one', async () => {
    const port = await closedPort();
    gw = await engineGateway(({ fetch }) =>
      fetch(`http://127.0.0.1:${port}/r`, {
        mode,
        onError: () => ({ status: 200, headers: { 'x-bad': 'a\nb' } }),
      }),
    );
    expect((await request(gw.url)).status).toBe(502);
    expect((await gw.handles[0]!.done).error!.message).toContain('onError answer ignored');
  });
});

describe.each(ADAPTER_MODES)('failures after the head was sent (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  let gw: EngineGateway;
  let origin: Running;

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it.each([
    ['a short Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'],
    ['a chunked body with no last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n'],
  ])('forwards what arrived, then cuts the client connection for %s', async (_what, bytes) => {
    origin = await rawUpstream((socket, req) =>
      void req.then(() => {
        socket.write(bytes);
        setImmediate(() => socket.destroy());
      }),
    );
    gw = await engineGateway(({ fetch }) => fetch(`${origin!.url}/r`, { mode }));
    const { res } = await openResponse(gw.url);
    expect(res.statusCode).toBe(200);
    const { body, complete } = await readBody(res);
    expect(complete).toBe(false);
    expect(body.toString()).toBe('0123456789');
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toMatch(/HANDOFF_UPSTREAM_TRUNCATED|HANDOFF_INVALID_RESPONSE/);
    expect(outcome.status).toBe(200);
    expect(outcome.bytes).toBe(10);
    await until(() => gw.proxy.stats.inFlight === 0, 'slot release');
  });
});
