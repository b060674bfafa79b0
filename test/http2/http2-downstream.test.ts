// RELIABILITY group I: HTTP/2 downstream. The client speaks HTTP/2 to a server made with
// http2.createSecureServer({ allowHTTP1: true }); the upstream is HTTP/1.1.
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import Koa from 'koa';
import { createProxy, type HandoffProxy, type ProxyCallOptions, type ProxyHandle } from '@handoff/core';
import { handoff } from '@handoff/koa';
import { listen, rawUpstream, upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';

const TLS = path.join(__dirname, '../fixtures/tls');
const tls = { key: fs.readFileSync(path.join(TLS, 'server-key.pem')), cert: fs.readFileSync(path.join(TLS, 'server.pem')), allowHTTP1: true };
const ca = fs.readFileSync(path.join(TLS, 'ca.pem'));

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  /** The RST_STREAM code the stream closed with (0: NO_ERROR). */
  rstCode: number;
  /** Whether 'end' was emitted: the body looked complete. */
  ended: boolean;
}

function get(client: http2.ClientHttp2Session, pathname: string, headers: http2.OutgoingHttpHeaders = {}): Promise<H2Reply> {
  return new Promise((resolve) => {
    const stream = client.request({ ':path': pathname, ...headers });
    const reply: H2Reply = { status: 0, headers: {}, body: '', rstCode: 0, ended: false };
    stream.on('response', (h) => {
      reply.status = Number(h[':status']);
      reply.headers = h;
    });
    stream.setEncoding('latin1');
    stream.on('data', (chunk: string) => (reply.body += chunk));
    stream.on('end', () => (reply.ended = true));
    stream.on('error', () => {});
    stream.on('close', () => resolve({ ...reply, rstCode: stream.rstCode ?? 0 }));
  });
}

/** An HTTP/2 (and HTTP/1.1) server on the engine alone: every request is proxied to `target(path)`. */
async function h2Gateway(target: (pathname: string) => string, options: ProxyCallOptions = {}) {
  const proxy = createProxy();
  const handles: ProxyHandle[] = [];
  const refusals: string[] = [];
  const server = await listen(
    http2.createSecureServer(tls, (req, res) => {
      const pathname = new URL(req.url, 'http://x').pathname;
      try {
        handles.push(proxy.fetch(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, target(pathname), options));
      } catch (err) {
        refusals.push((err as Error).message);
        res.writeHead(500).end();
      }
    }),
  );
  const client = http2.connect(`https://127.0.0.1:${server.port}`, { ca });
  return {
    proxy,
    handles,
    refusals,
    server,
    client,
    async close() {
      client.close();
      await proxy.close({ timeout: 0 });
      await server.close();
    },
  };
}

describe('HTTP/2 downstream (RELIABILITY I38–I40)', () => {
  let origin: Running;
  let gw: Awaited<ReturnType<typeof h2Gateway>>;

  afterEach(async () => {
    await gw?.close();
    await origin?.close();
  });

  it.each([
    ['short of its Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'],
    ['chunked without the last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'],
  ])('resets the stream with INTERNAL_ERROR when the upstream body is cut %s: the cut is never a clean end', async (_what, bytes) => {
    origin = await rawUpstream((socket, request) => void request.then(() => socket.end(bytes)));
    gw = await h2Gateway((p) => `${origin.url}${p}`);
    const reply = await get(gw.client, '/cut');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello');
    expect(reply.ended).toBe(false);
    expect(reply.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_UPSTREAM_TRUNCATED');
    // The session survives the reset stream.
    expect(gw.client.destroyed).toBe(false);
  });

  it('ends a complete body cleanly (RST code 0), in both framings', async () => {
    origin = await rawUpstream((socket, request) =>
      void request.then((head) =>
        socket.end(
          head.startsWith('GET /length')
            ? 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'
            : 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
        ),
      ),
    );
    gw = await h2Gateway((p) => `${origin.url}${p}`);
    for (const p of ['/length', '/chunked']) {
      const reply = await get(gw.client, p);
      expect(reply).toMatchObject({ status: 200, body: 'hello', ended: true, rstCode: 0 });
    }
  });

  it('a client cancelling the stream (RST_STREAM CANCEL) aborts the upstream request and frees the slot', async () => {
    let upstreamClosed = false;
    origin = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      res.on('close', () => (upstreamClosed = true));
    });
    gw = await h2Gateway((p) => `${origin.url}${p}`);
    const stream = gw.client.request({ ':path': '/slow' });
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('data', resolve));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    await until(() => upstreamClosed, 'upstream request aborted');
    expect(gw.proxy.stats).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('a client cancelling a stream whose whole body it has not received is an abort, even though the upstream had finished', async () => {
    const body = Buffer.alloc(10_000, 'x');
    origin = await upstream((_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body));
    gw = await h2Gateway((p) => `${origin.url}${p}`);
    // A 1 KiB flow-control window: the proxy has the whole body, the client lets 1 KiB through.
    const client = http2.connect(`https://127.0.0.1:${gw.server.port}`, { ca, settings: { initialWindowSize: 1024 } });
    try {
      const stream = client.request({ ':path': '/big' });
      stream.on('error', () => {});
      stream.pause();
      await new Promise((resolve) => stream.once('response', resolve));
      // The upstream response has ended and its slot is free; the client has not read it.
      await until(() => gw.proxy.stats.inFlight === 0, 'upstream finished');
      stream.close(http2.constants.NGHTTP2_CANCEL);
      const outcome = await gw.handles[0]!.done;
      expect(outcome.status).toBe(200);
      expect(outcome.error?.code).toBe('HANDOFF_CLIENT_ABORTED');
    } finally {
      client.close();
    }
  });

  it('never hands connection-specific fields to writeHead (it throws on them), from the upstream or preset on the response', async () => {
    origin = await rawUpstream((socket, request) =>
      void request.then(() =>
        socket.end(
          'HTTP/1.1 200 OK\r\nConnection: keep-alive, x-hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nProxy-Connection: keep-alive\r\n' +
            'Upgrade: h2c\r\nTransfer-Encoding: chunked\r\nX-Kept: yes\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
        ),
      ),
    );
    gw = await h2Gateway((p) => `${origin.url}${p}`);
    const reply = await get(gw.client, '/hop');
    expect(reply).toMatchObject({ status: 200, body: 'hello', ended: true });
    expect(reply.headers['x-kept']).toBe('yes');
    for (const name of ['connection', 'keep-alive', 'x-hop', 'proxy-connection', 'upgrade', 'transfer-encoding']) {
      expect(reply.headers[name]).toBeUndefined();
    }
    expect((await gw.handles[0]!.done).error).toBeUndefined();
  });

  it('answers 502 (no throw, the session survives) when onHeaders adds a connection-specific field', async () => {
    origin = await upstream((_req, res) => res.end('fine'));
    gw = await h2Gateway((p) => `${origin.url}${p}`, {
      onHeaders: (head) => void (head.headers.connection = 'close'),
    });
    const reply = await get(gw.client, '/x');
    expect(reply.status).toBe(502);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_INVALID_HEADER');
    expect(gw.client.destroyed).toBe(false);
  });

  it('never forwards HTTP/2 pseudo-headers upstream, and derives X-Forwarded-Host from :authority', async () => {
    let seen: http.IncomingHttpHeaders = {};
    origin = await upstream((req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    gw = await h2Gateway((p) => `${origin.url}${p}`, { forwardHeaders: 'all' });
    const reply = await get(gw.client, '/h', { 'x-custom': 'v' });
    expect(reply.body).toBe('ok');
    expect(Object.keys(seen).filter((name) => name.startsWith(':'))).toEqual([]);
    expect(seen['x-custom']).toBe('v');
    expect(seen['x-forwarded-host']).toBe(`127.0.0.1:${gw.server.port}`);
    expect(seen['x-forwarded-proto']).toBe('https');
  });

  it("refuses socket mode with a clear error before touching the response; the session survives", async () => {
    origin = await upstream((_req, res) => res.end('fine'));
    gw = await h2Gateway((p) => `${origin.url}${p}`, { mode: 'socket' });
    expect((await get(gw.client, '/s')).status).toBe(500);
    expect(gw.refusals[0]).toMatch(/mode 'socket' needs an HTTP\/1\.x connection; this request came over HTTP\/2\.0/);
    expect((await get(gw.client, '/s')).status).toBe(500);
    expect(gw.client.destroyed).toBe(false);
  });

  it('an HTTP/1.1 client of the same allowHTTP1 server still sees a cut body as a cut connection', async () => {
    origin = await rawUpstream((socket, request) => void request.then(() => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello')));
    gw = await h2Gateway((p) => `${origin.url}${p}`);
    const https = await import('node:https');
    const result = await new Promise<{ complete: boolean; body: string }>((resolve) => {
      https.get(`https://127.0.0.1:${gw.server.port}/cut`, { ca, agent: false }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('close', () => resolve({ complete: res.complete, body }));
        res.on('error', () => {});
      }).on('error', () => resolve({ complete: false, body: '' }));
    });
    expect(result).toEqual({ complete: false, body: 'hello' });
  });
});

describe('Koa on an HTTP/2 server (the reported case)', () => {
  it('ctx.proxyFetch in response mode: a cut body resets the stream with an error code', async () => {
    const origin = await rawUpstream((socket, request) => void request.then(() => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')));
    const app = new Koa();
    app.silent = true;
    const middleware = handoff();
    app.use(middleware);
    app.use((ctx) => ctx.proxyFetch(`${origin.url}/cut`));
    const server = await listen(http2.createSecureServer(tls, app.callback()));
    const client = http2.connect(`https://127.0.0.1:${server.port}`, { ca });
    try {
      const reply = await get(client, '/cut');
      expect(reply).toMatchObject({ status: 200, body: 'hello', ended: false, rstCode: http2.constants.NGHTTP2_INTERNAL_ERROR });
      const proxy: HandoffProxy = middleware.proxy;
      await until(() => proxy.stats.inFlight === 0, 'transfer settled');
    } finally {
      client.close();
      await middleware.close({ timeout: 0 });
      await server.close();
      await origin.close();
    }
  });
});
