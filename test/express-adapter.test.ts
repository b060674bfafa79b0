import http from 'node:http';
import express from 'express';
import { handoff, isProxyError, offload, type HandoffMiddleware, type ProxyHandle } from '@handoff/express';
import { openResponse, readBody, request } from './helpers/client';
import { adapterSuite } from './helpers/adapters';
import { listen, upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe('@handoff/express: res.proxyFetch', () => {
  const suite = adapterSuite((req, res) => {
    res.setHeader('x-powered-by', req.url === '/powered' ? 'origin' : []);
    res.end(`origin ${req.url}`);
  });
  const { closers, held, seen } = suite;

  /** An Express app on port 0: `build` mounts what the test needs; errors reaching the error handler are recorded. */
  async function serve(build: (app: express.Express, proxy: HandoffMiddleware) => void, options = {}) {
    const app = express();
    const proxy = handoff(options);
    const errors: Error[] = [];
    build(app, proxy);
    app.use((err: Error & { status?: number; code?: string }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      errors.push(err);
      if (res.headersSent) return next(err);
      res.status(err.status ?? 500).type('text/plain').send(`${err.code ?? 'error'}: ${err.message}`);
    });
    const running = await listen(http.createServer(app));
    closers.push(() => proxy.close({ timeout: 0 }), running.close);
    return { ...running, proxy, errors };
  }

  it('resolves once the transfer owns the response, while the body still flows, with the handle on res.locals', async () => {
    const events: string[] = [];
    let handle: ProxyHandle | undefined;
    const gw = await serve((app, proxy) => {
      app.use((_req, res, next) => {
        res.on('finish', () => events.push(`finished, logged ${res.locals.handoff === handle}`));
        next();
      });
      app.use(proxy);
      app.get('/r', async (_req, res) => {
        handle = await res.proxyFetch(`${suite.origin.url}/hold`);
        events.push(`route resumed, settled: ${handle.outcome !== undefined}`);
      });
    });
    const { res } = await openResponse(`${gw.url}/r`);
    const body = readBody(res);
    await until(() => events.length === 1, 'route resumed');
    expect(events).toEqual(['route resumed, settled: false']);
    held[0]!.end('second');
    expect((await body).body.toString()).toBe('first second');
    expect(await handle!.done).toMatchObject({ status: 200, bytes: 12 });
    await until(() => events.length === 2, 'finish');
    expect(events[1]).toBe('finished, logged true');
  });

  it('works behind express.Router() and in a mounted sub-app, with the proxy of the middleware that ran', async () => {
    const gw = await serve((app, proxy) => {
      const router = express.Router();
      router.use(proxy);
      router.get('/:name', (req, res) => res.proxyFetch(`${suite.origin.url}/routed/${req.params.name}`));
      const sub = express();
      sub.get('/x', (_req, res) => res.proxyFetch(`${suite.origin.url}/sub`));
      app.use('/api', router);
      app.use(proxy);
      app.use('/sub', sub);
    });
    expect((await request(`${gw.url}/api/one`)).body.toString()).toBe('origin /routed/one');
    expect((await request(`${gw.url}/sub/x`)).body.toString()).toBe('origin /sub');
  });

  it('refuses with a clear error on a request the middleware did not run for', async () => {
    const gw = await serve((app, proxy) => {
      app.get('/proxied', proxy, (_req, res) => res.proxyFetch(suite.origin.url));
      app.get('/elsewhere', (_req, res) => res.proxyFetch(suite.origin.url));
    });
    expect((await request(`${gw.url}/proxied`)).status).toBe(200);
    const refused = await request(`${gw.url}/elsewhere`);
    expect(refused.status).toBe(500);
    expect(refused.body.toString()).toBe('HANDOFF_INVALID_OPTIONS: res.proxyFetch was called on a request the handoff() middleware did not run for');
  });

  it('sends an error thrown before the hand-off to next(err) once, and the keep-alive connection survives it', async () => {
    const gw = await serve((app, proxy) => {
      app.use(proxy);
      app.get('/bad', (_req, res) => res.proxyFetch('ftp://files.internal/x'));
      app.get('/good', (_req, res) => res.proxyFetch(`${suite.origin.url}/good`));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      const bad = await request(`${gw.url}/bad`, { agent });
      expect(bad.status).toBe(500);
      expect(bad.body.toString()).toBe('HANDOFF_INVALID_OPTIONS: Upstream URL must be http: or https:, got ftp:');
      expect((await request(`${gw.url}/good`, { agent })).body.toString()).toBe('origin /good');
      expect(sockets.size).toBe(1);
      expect(gw.errors).toHaveLength(1);
      expect(gw.proxy.proxy.stats.inFlight).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it('gives a route that already wrote its head a clear error instead of corrupting the response', async () => {
    const failures: string[] = [];
    const gw = await serve((app, proxy) => {
      app.use(proxy);
      app.get('/r', async (_req, res) => {
        res.write('own body');
        try {
          await res.proxyFetch(`${suite.origin.url}/r`);
        } catch (err) {
          failures.push((err as Error).message);
          res.end(' only');
        }
      });
    });
    expect((await request(`${gw.url}/r`)).body.toString()).toBe('own body only');
    expect(failures).toEqual(['The response has already been started; nothing can be proxied into it']);
    expect(seen).toHaveLength(0);
  });

  it("keeps headers set with res.set() before the hand-off, and drops Express's own X-Powered-By", async () => {
    const gw = await serve((app, proxy) => {
      app.use(proxy);
      app.get('/r', (_req, res) => {
        res.set('access-control-allow-origin', 'https://app.example');
        return res.proxyFetch(`${suite.origin.url}/r`);
      });
      app.get('/powered', (_req, res) => res.proxyFetch(`${suite.origin.url}/powered`));
    });
    const reply = await request(`${gw.url}/r`);
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(reply.headers['x-powered-by']).toBeUndefined();
    expect(reply.headers['content-type']).toBe('text/plain');
    expect((await request(`${gw.url}/powered`)).headers['x-powered-by']).toBe('origin');
  });

  it('passes a function as the second argument as onHeaders', async () => {
    const gw = await serve((app, proxy) => {
      app.use(proxy);
      app.get('/r', (_req, res) => res.proxyFetch(`${suite.origin.url}/r`, (head) => void (head.headers['x-via'] = 'express')));
    });
    expect((await request(`${gw.url}/r`)).headers['x-via']).toBe('express');
  });

  it("refuses body: 'request' after express.json() read the body, through next(err), without contacting the upstream", async () => {
    const gw = await serve((app, proxy) => {
      app.use(express.json());
      app.use(proxy);
      app.post('/r', (_req, res) => res.proxyFetch(`${suite.origin.url}/r`, { method: 'POST', body: 'request' }));
    });
    const reply = await request(`${gw.url}/r`, { method: 'POST', body: Buffer.from('{"a":1}'), headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(500);
    expect(reply.body.toString()).toBe(
      "HANDOFF_INVALID_OPTIONS: body: 'request' was given but the request body was already read by another middleware (express.json()?): POST /r",
    );
    expect(isProxyError(gw.errors[0])).toBe(true);
    expect(seen).toHaveLength(0);
  });

  it('close() stops admitting: a later call is answered 503', async () => {
    const gw = await serve((app, proxy) => {
      app.use(proxy);
      app.get('/r', (_req, res) => res.proxyFetch(`${suite.origin.url}/r`));
    });
    await gw.proxy.close({ timeout: 0 });
    const reply = await request(`${gw.url}/r`);
    expect(reply.status).toBe(503);
    expect(gw.proxy.proxy.stats.closing).toBe(true);
  });
});

describe('@handoff/express: offload()', () => {
  const closers: (() => Promise<void>)[] = [];
  let files: Running;
  let seen: http.IncomingHttpHeaders[];

  beforeEach(async () => {
    seen = [];
    files = await upstream((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/pdf');
      res.end(`file ${req.url}`);
    });
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await files.close();
  });

  async function serve(build: (app: express.Express) => void) {
    const app = express();
    const middleware = offload({ accel: { '/protected/': `${files.url}/store/` }, allow: [files.url] });
    app.use((_req, res, next) => {
      res.set('access-control-allow-origin', '*');
      next();
    });
    app.use(middleware);
    build(app);
    const running = await listen(http.createServer(app));
    closers.push(() => middleware.close({ timeout: 0 }), running.close);
    return running;
  }

  it('performs an X-Accel-Redirect a handler answers with res.send(), keeping headers set before it', async () => {
    const gw = await serve((app) =>
      app.get('/download/:id', (req, res) => {
        res.set('x-accel-redirect', `/protected/${req.params.id}.pdf`).set('x-debug', 'handler').send('ignored body');
      }),
    );
    const reply = await request(`${gw.url}/download/7`);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('file /store/7.pdf');
    expect(reply.headers['content-type']).toBe('application/pdf');
    expect(reply.headers['access-control-allow-origin']).toBe('*');
    expect(reply.headers['x-accel-redirect']).toBeUndefined();
  });

  it('performs res.offload({ url }) and removes instruction headers a client sent', async () => {
    const gw = await serve((app) => {
      app.get('/typed', (_req, res) => res.offload({ url: `${files.url}/typed` }));
      app.get('/plain', (req, res) => void res.send(`plain ${String(req.headers['x-accel-redirect'])}`));
    });
    expect((await request(`${gw.url}/typed`)).body.toString()).toBe('file /typed');
    const plain = await request(`${gw.url}/plain`, { headers: { 'x-accel-redirect': '/protected/secret' } });
    expect(plain.body.toString()).toBe('plain undefined');
    expect(seen).toHaveLength(1);
  });

  it('answers the core’s 403 for an offload target outside allow', async () => {
    const gw = await serve((app) => app.get('/r', (_req, res) => res.offload({ url: 'http://elsewhere.invalid/x' })));
    expect((await request(`${gw.url}/r`)).status).toBe(403);
  });
});
