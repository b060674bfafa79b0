import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { handoff, isProxyError, passThroughBodies, type HandoffPluginOptions, type ProxyHandle } from '@handoff/fastify';
import { openResponse, readBody, request } from './helpers/client';
import { adapterSuite } from './helpers/adapters';
import { listen, upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

/** A Fastify app whose log lines (JSON) are collected. */
function app(): { app: FastifyInstance; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { app: Fastify({ logger: { level: 'info', stream } }), lines };
}

describe('@handoff/fastify: reply.proxyFetch', () => {
  const suite = adapterSuite((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.end(`origin ${req.url} ${bytes}`));
  });
  const { closers, held, seen } = suite;

  async function serve(build: (app: FastifyInstance) => void, options: HandoffPluginOptions = { closeTimeout: 0 }) {
    const made = app();
    await made.app.register(handoff, options);
    build(made.app);
    await made.app.ready();
    const running = await listen(made.app.server);
    closers.push(async () => {
      await made.app.handoff.close({ timeout: 0 });
      await running.close();
      await made.app.close();
    });
    return { ...running, app: made.app, lines: made.lines };
  }

  it('hijacks and resolves while the body still flows; headers set with reply.header() are kept', async () => {
    let handle: ProxyHandle | undefined;
    const gw = await serve((fastify) =>
      fastify.get('/r', async (_request, reply) => {
        reply.header('access-control-allow-origin', 'https://app.example');
        handle = await reply.proxyFetch(`${suite.origin.url}/hold`);
        return handle;
      }),
    );
    const { res } = await openResponse(`${gw.url}/r`);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    const body = readBody(res);
    await until(() => handle !== undefined, 'handler resumed');
    expect(handle!.outcome).toBeUndefined();
    held[0]!.end('second');
    expect((await body).body.toString()).toBe('first second');
    expect(await handle!.done).toMatchObject({ status: 200, bytes: 12 });
  });

  it('refuses bad arguments before the hijack, so Fastify answers them, and undoes the copied headers', async () => {
    let rawHadHeader: boolean | undefined;
    const gw = await serve((fastify) =>
      fastify.get('/bad', async (_request, reply) => {
        reply.header('x-kept-only-if-proxied', '1');
        try {
          return await reply.proxyFetch('ftp://files.internal/x');
        } finally {
          rawHadHeader = reply.raw.hasHeader('x-kept-only-if-proxied');
        }
      }),
    );
    const reply = await request(`${gw.url}/bad`);
    expect(rawHadHeader).toBe(false);
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', message: 'Upstream URL must be http: or https:, got ftp:' });
    expect(gw.app.handoff.stats.inFlight).toBe(0);
  });

  it('logs a failed transfer through request.log with its code', async () => {
    const gw = await serve((fastify) => fastify.get('/r', (_request, reply) => reply.proxyFetch('http://127.0.0.1:1/r')));
    expect((await request(`${gw.url}/r`)).status).toBe(502);
    await until(() => gw.lines.some((line) => line.code === 'HANDOFF_UPSTREAM_UNREACHABLE'), 'failure logged');
    const line = gw.lines.find((l) => l.code === 'HANDOFF_UPSTREAM_UNREACHABLE')!;
    expect(line.level).toBe(50);
    expect(line.reqId).toBeDefined();
    expect(line.msg).toMatch(/^handoff transfer failed: .*GET http:\/\/127\.0\.0\.1:1\/r/);
  });

  it("writes the 'request completed' line from the outcome in socket mode, where Fastify never sees the end", async () => {
    const gw = await serve((fastify) => fastify.get('/r', (_request, reply) => reply.proxyFetch(`${suite.origin.url}/s`, { mode: 'socket' })));
    expect((await request(`${gw.url}/r`)).body.toString()).toBe('origin /s 0');
    await until(() => gw.lines.some((line) => line.msg === 'request completed'), 'completion logged');
    expect(gw.lines.find((line) => line.msg === 'request completed')).toMatchObject({ res: { statusCode: 200 }, bytes: 11 });
  });

  it("refuses body: 'request' after Fastify's JSON parser read the body; passThroughBodies() leaves it to stream", async () => {
    const gw = await serve((fastify) => {
      fastify.post('/parsed', (_request, reply) => reply.proxyFetch(`${suite.origin.url}/parsed`, { method: 'POST', body: 'request' }));
      void fastify.register(async (raw) => {
        passThroughBodies(raw);
        raw.post('/raw', (_request, reply) => reply.proxyFetch(`${suite.origin.url}/raw`, { method: 'POST', body: 'request' }));
      });
    });
    const json = { method: 'POST', body: Buffer.from('{"a":1}'), headers: { 'content-type': 'application/json' } };
    const refused = await request(`${gw.url}/parsed`, json);
    expect(refused.status).toBe(500);
    expect(JSON.parse(refused.body.toString()).message).toBe(
      "body: 'request' was given but the request body was already read by another middleware (a Fastify body parser: see passThroughBodies()): POST /parsed",
    );
    expect(seen).toHaveLength(0);
    expect((await request(`${gw.url}/raw`, json)).body.toString()).toBe('origin /raw 7');
    const other = await request(`${gw.url}/raw`, { method: 'POST', body: Buffer.alloc(100), headers: { 'content-type': 'application/x-thing' } });
    expect(other.body.toString()).toBe('origin /raw 100');
  });

  it('app.close() closes the proxy in preClose: an in-flight transfer is cut after closeTimeout', async () => {
    const gw = await serve((fastify) => fastify.get('/r', (_request, reply) => reply.proxyFetch(`${suite.origin.url}/hold`)), { closeTimeout: 50 });
    const { res } = await openResponse(`${gw.url}/r`);
    const body = readBody(res);
    await gw.app.close();
    expect(gw.app.handoff.stats.closing).toBe(true);
    expect((await body).complete).toBe(false);
    expect(gw.app.handoff.stats.inFlight).toBe(0);
  });

  it('strips the keys Fastify adds to plugin options and refuses unknown ones by name', async () => {
    const made = app();
    await made.app.register(handoff, { prefix: '/x', logLevel: 'warn', concurrency: 2 } as HandoffPluginOptions);
    expect(made.app.handoff.stats.inFlight).toBe(0);
    await made.app.close();
    const other = app();
    const refused = other.app.register(handoff, { concurency: 2 } as HandoffPluginOptions);
    await expect(refused).rejects.toThrow('Unknown option for the handoff plugin: concurency');
    const invalid = app();
    const error = await invalid.app.register(handoff, { concurrency: -1 }).then(() => undefined, (err: unknown) => err);
    expect(isProxyError(error) && error.option).toBe('concurrency');
    const late = app();
    await expect(late.app.register(handoff, { closeTimeout: -5 })).rejects.toThrow('closeTimeout must be an integer from 0 to 2147483647 ms, got -5');
  });
});

describe('@handoff/fastify: offload', () => {
  const closers: (() => Promise<void>)[] = [];
  let files: Running;

  beforeEach(async () => {
    files = await upstream((req, res) => {
      res.setHeader('content-type', 'application/pdf');
      res.end(`file ${req.url}`);
    });
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await files.close();
  });

  async function serve(build: (app: FastifyInstance) => void) {
    const made = app();
    await made.app.register(handoff, { closeTimeout: 0, offload: { accel: { '/protected/': `${files.url}/store/` }, allow: [files.url] } });
    made.app.addHook('onRequest', async (_request, reply) => void reply.header('access-control-allow-origin', '*'));
    build(made.app);
    await made.app.ready();
    const running = await listen(made.app.server);
    closers.push(async () => {
      await running.close();
      await made.app.close();
    });
    return running;
  }

  it('performs an X-Accel-Redirect a handler answers with, keeping headers hooks set before it', async () => {
    const gw = await serve((fastify) =>
      fastify.get<{ Params: { id: string } }>('/download/:id', (request, reply) =>
        reply.header('x-accel-redirect', `/protected/${request.params.id}.pdf`).send('ignored'),
      ),
    );
    const reply = await request(`${gw.url}/download/7`);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('file /store/7.pdf');
    expect(reply.headers['content-type']).toBe('application/pdf');
    expect(reply.headers['access-control-allow-origin']).toBe('*');
    expect(reply.headers['x-accel-redirect']).toBeUndefined();
  });

  it('performs reply.offload({ url }), and removes instruction headers a client sent', async () => {
    const gw = await serve((fastify) => {
      fastify.get('/typed', (_request, reply) => reply.offload({ url: `${files.url}/typed` }));
      fastify.get('/plain', async (request) => `plain ${String(request.headers['x-accel-redirect'])}`);
    });
    expect((await request(`${gw.url}/typed`)).body.toString()).toBe('file /typed');
    expect((await request(`${gw.url}/plain`, { headers: { 'x-accel-redirect': '/protected/x' } })).body.toString()).toBe('plain undefined');
  });
});
