import http from 'node:http';
import http2 from 'node:http2';
import Koa from 'koa';
import { handoff, isProxyError } from '@handoff/koa';
import { request } from './helpers/client';
import { gateway, type Gateway } from './helpers/koa-gateway';
import { MODES } from './helpers/modes';
import { listen, upstream, type Running } from './helpers/servers';

describe('ctx.proxyFetch belongs to the handoff() middleware that ran for the request', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function serve(app: Koa): Promise<Running> {
    const running = await listen(http.createServer(app.callback()));
    closers.push(running.close);
    return running;
  }

  it('rejects with a clear error on a request the middleware did not run for', async () => {
    const origin = await upstream((_req, res) => res.end('origin'));
    closers.push(origin.close);
    const gate = handoff();
    closers.push(() => gate.close());
    const app = new Koa();
    app.silent = true;
    // The middleware runs only under /proxied, as when it is mounted on one router.
    app.use((ctx, next) => (ctx.path.startsWith('/proxied') ? gate(ctx, next) : next()));
    app.use(async (ctx) => {
      try {
        await ctx.proxyFetch(origin.url);
      } catch (err) {
        ctx.status = 500;
        ctx.body = isProxyError(err) ? `${err.code}: ${err.message}` : 'other error';
      }
    });
    const gateway = await serve(app);
    expect((await request(gateway.url, { path: '/proxied' })).body.toString()).toBe('origin');
    const refused = await request(gateway.url, { path: '/elsewhere' });
    expect(refused.status).toBe(500);
    expect(refused.body.toString()).toBe(
      'HANDOFF_INVALID_OPTIONS: ctx.proxyFetch was called on a request the handoff() middleware did not run for',
    );
    expect(gate.proxy.stats.inFlight).toBe(0);
  });

  it('uses the proxy of the middleware that ran, when an app mounts two with different options', async () => {
    const origin = await upstream((_req, res) => res.end('origin'));
    closers.push(origin.close);
    const open = handoff();
    const closed = handoff({ allow: ['http://allowed.example'] });
    closers.push(() => open.close(), () => closed.close());
    const app = new Koa();
    app.silent = true;
    app.use((ctx, next) => (ctx.path === '/restricted' ? closed(ctx, next) : open(ctx, next)));
    app.use(async (ctx) => {
      await ctx.proxyFetch(origin.url);
    });
    const gateway = await serve(app);
    expect((await request(gateway.url, { path: '/open' })).status).toBe(200);
    expect((await request(gateway.url, { path: '/restricted' })).status).toBe(403);
  });
});

describe.each(MODES)('ctx.proxyFetch(url, onHeaders): a function as the second argument (%s mode)', (mode) => {
  let origin: Running;
  let proxy: Gateway;

  beforeEach(async () => {
    origin = await upstream((req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
      res.setHeader('content-type', 'application/json');
      const body = JSON.stringify({ method: req.method, url: req.url });
      res.setHeader('content-length', Buffer.byteLength(body));
      res.end(body);
    });
  });

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  it('accepts a function as the second argument, async, returning a replacement head', async () => {
    proxy = await gateway((ctx) =>
      ctx.proxyFetch(`${origin.url}/r/1`, async (res) => {
        await new Promise((resolve) => setImmediate(resolve));
        return { status: 203, headers: { 'content-type': res.headers['content-type'] as string, 'x-replaced': 'yes' } };
      }),
      { mode },
    );
    const reply = await request(proxy.url);
    expect(reply.status).toBe(203);
    expect(reply.headers['x-replaced']).toBe('yes');
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(JSON.parse(reply.body.toString()).url).toBe('/r/1');
  });
});

describe('handoff() on an HTTP/2 server', () => {
  let origin: Running;

  beforeEach(async () => {
    origin = await upstream((req, res) => res.end(`hello ${req.url}`));
  });

  afterEach(() => origin.close());

  it("serves Koa on an HTTP/2 server in 'response' mode, and refuses 'socket' mode there with a clear error", async () => {
    const app = new Koa();
    app.silent = true;
    const middleware = handoff();
    const refusals: string[] = [];
    app.use(middleware);
    app.use(async (ctx) => {
      if (ctx.path === '/socket') {
        try {
          await ctx.proxyFetch(`${origin.url}/socket`, { mode: 'socket' });
        } catch (err) {
          refusals.push((err as Error).message);
          throw err;
        }
      } else {
        await ctx.proxyFetch(`${origin.url}${ctx.path}`, (res) => void (res.headers['x-via'] = 'h2'));
      }
    });
    const server = await listen(http2.createServer(app.callback()));
    const client = http2.connect(server.url);
    const get = (path: string) =>
      new Promise<{ status: number; via: unknown; body: string }>((resolve, reject) => {
        const stream = client.request({ ':path': path });
        let status = 0;
        let via: unknown;
        let body = '';
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
          via = headers['x-via'];
        });
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve({ status, via, body }));
        stream.on('error', reject);
      });
    try {
      expect(await get('/h2')).toEqual({ status: 200, via: 'h2', body: 'hello /h2' });
      expect((await get('/socket')).status).toBe(500);
      expect(refusals[0]).toMatch(/mode 'socket' needs an HTTP\/1\.x connection/);
    } finally {
      client.close();
      await middleware.close();
      await server.close();
    }
  });
});
