import http from 'node:http';
import Koa from 'koa';
import { handoff, isProxyError } from '@handoff/koa';
import { request } from './helpers/client';
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
