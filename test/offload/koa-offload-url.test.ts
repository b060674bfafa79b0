import http from 'node:http';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { handoff, offload } from '@handoff/koa';
import { openResponse, request } from '../helpers/client';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import { listen, upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { offloadApp, onlyOutcome, type OffloadApp } from './helpers';

describe('offload(): Offload-Url instructions from a Koa handler', () => {
  let target: RecordingUpstream;
  let app: OffloadApp;

  beforeEach(async () => {
    target = await recordingUpstream((seen, res) => {
      if (seen.url === '/redirect') {
        res.writeHead(302, { location: '/file' });
        return res.end();
      }
      res.writeHead(200, {
        'content-type': 'application/pdf',
        'cache-control': 'public, max-age=31536000',
        vary: 'Accept-Encoding',
        'x-accel-redirect': '/internal/should-not-chain',
        'offload-url': 'http://elsewhere.invalid/',
      });
      res.end(seen.method === 'POST' ? `posted:${seen.body}` : 'file bytes');
    });
  });

  afterEach(async () => {
    await app?.close();
    await target.close();
  });

  const allow = () => [target.origin];

  it('fetches Offload-Url with GET by default and streams its answer instead of the handler body', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file?id=7`);
        ctx.body = 'handler body that must not be sent';
      },
      { allow: allow() },
    );
    const reply = await request(app.url);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('file bytes');
    expect(reply.headers['content-type']).toBe('application/pdf');
    expect(target.requests).toEqual([expect.objectContaining({ method: 'GET', url: '/file?id=7' })]);
    const outcome = await onlyOutcome(app);
    expect(outcome).toMatchObject({ status: 200, offload: 'url', bytes: 'file bytes'.length });
    expect(outcome.error).toBeUndefined();
    expect(outcome.headersMs).toBeGreaterThanOrEqual(0);
    expect(outcome.instructionMs).toBeGreaterThanOrEqual(0);
  });

  it('honours Offload-Method case-insensitively: post, head', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', 'yes');
        ctx.set('Offload-Url', `${target.url}/m`);
        ctx.set('Offload-Method', String(ctx.query.m));
      },
      { allow: allow() },
    );
    const head = await request(app.url, { path: '/?m=head' });
    expect(head.status).toBe(200);
    // A HEAD made on behalf of a GET client: no body, and no length promising one.
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).not.toBe('10');
    const post = await request(app.url, { path: '/?m=pOsT' });
    expect(post.body.toString()).toBe('posted:');
    expect(target.requests.map((r) => r.method)).toEqual(['HEAD', 'POST']);
  });

  it('forwards the handler body with its Content-Type when Offload-Forward-Body is set', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/render`);
        ctx.set('Offload-Method', 'POST');
        ctx.set('Offload-Forward-Body', '1');
        ctx.type = 'application/vnd.report+json';
        ctx.body = Readable.from([Buffer.from('{"a":'), Buffer.from('1}')]);
      },
      { allow: allow() },
    );
    const reply = await request(app.url);
    expect(reply.body.toString()).toBe('posted:{"a":1}');
    expect(target.requests[0]!.headers['content-type']).toBe('application/vnd.report+json');
  });

  it('serialises a JSON handler body for forwarding as Koa would', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/json`);
        ctx.set('Offload-Method', 'POST');
        ctx.set('Offload-Forward-Body', '1');
        ctx.body = { report: 7 };
      },
      { allow: allow() },
    );
    expect((await request(app.url)).body.toString()).toBe('posted:{"report":7}');
    expect(target.requests[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('turns Offload-X-<Name> into upstream request headers, and forwards only negotiation/range fields from the client', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
        ctx.set('Offload-X-Authorization', 'Bearer signed');
        ctx.set('Offload-X-X-Request-Id', 'r-1');
        ctx.set('Offload-X-Accept-Language', 'fr');
      },
      { allow: allow() },
    );
    await request(app.url, { headers: { range: 'bytes=0-3', cookie: 'session=secret', 'if-none-match': '"e"' } });
    const headers = target.requests[0]!.headers;
    expect(headers).toMatchObject({
      authorization: 'Bearer signed',
      'x-request-id': 'r-1',
      'accept-language': 'fr',
      range: 'bytes=0-3',
      'if-none-match': '"e"',
    });
    expect(headers.cookie).toBeUndefined();
    expect(Object.keys(headers).filter((name) => name.startsWith('offload-'))).toEqual([]);
  });

  it('keeps only the policy headers of the handler response (Set-Cookie, Cache-Control, Vary merged) and drops the rest', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
        ctx.cookies.set('seen', '1');
        ctx.set('Cache-Control', 'private, max-age=60');
        ctx.set('Vary', 'Cookie');
        ctx.set('X-Handler-Only', 'dropped');
        ctx.body = 'ignored';
      },
      { allow: allow() },
    );
    const reply = await request(app.url);
    expect(reply.headers['set-cookie']).toEqual([expect.stringContaining('seen=1')]);
    expect(reply.headers['cache-control']).toBe('private, max-age=60');
    expect(reply.headers.vary).toBe('Accept-Encoding, Cookie');
    expect(reply.headers['x-handler-only']).toBeUndefined();
    expect(reply.headers['content-type']).toBe('application/pdf');
  });

  it('takes keepHeaders as a list or a predicate', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
        ctx.set('Cache-Control', 'no-store');
        ctx.set('X-Trace', 't-1');
      },
      { allow: allow(), keepHeaders: (name) => name.startsWith('x-') },
    );
    const reply = await request(app.url);
    expect(reply.headers['x-trace']).toBe('t-1');
    expect(reply.headers['cache-control']).toBe('public, max-age=31536000');
  });

  it('keeps headers set before the handler ran (CORS and the like), as ctx.proxyFetch does', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
      },
      { allow: allow() },
      async (ctx, next) => {
        ctx.set('Access-Control-Allow-Origin', '*');
        await next();
      },
    );
    expect((await request(app.url)).headers['access-control-allow-origin']).toBe('*');
  });

  it('removes every instruction header from the client response, including the target\'s own (no chaining)', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
        ctx.set('X-Accel-Limit-Rate', '0');
        ctx.set('X-Accel-Buffering', 'no');
      },
      { allow: allow() },
    );
    const reply = await request(app.url);
    const names = Object.keys(reply.headers);
    expect(names.filter((name) => /^(offload-|x-accel-|x-sendfile)/.test(name))).toEqual([]);
    expect(target.requests).toHaveLength(1);
  });

  it('strips instruction headers a client sends before the handler sees them, and never acts on them', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.body = `saw:${Object.keys(ctx.headers).filter((n) => /^(offload-|x-accel-|x-sendfile)/.test(n)).join(',')}`;
      },
      { allow: allow(), sendfileRoots: [__dirname] },
    );
    const reply = await request(app.url, {
      headers: {
        'Offload-Requested': '1',
        'Offload-Url': `${target.url}/file`,
        'X-Accel-Redirect': '/internal/x',
        'X-Sendfile': __filename,
        'X-Sendfile-Type': 'X-Sendfile',
        'X-Accel-Mapping': '/=/internal/',
      },
    });
    expect(reply.body.toString()).toBe('saw:');
    expect(app.seen[0]!['offload-url']).toBeUndefined();
    expect(target.requests).toHaveLength(0);
    expect(app.handles).toHaveLength(0);
  });

  it('relays a redirect from the target by default instead of following it', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/redirect`);
      },
      { allow: allow() },
    );
    const reply = await request(app.url);
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('/file');
    expect(target.requests).toHaveLength(1);
  });

  it('follows target redirects only with followRedirects, each hop checked against allow', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/redirect`);
      },
      { allow: allow(), followRedirects: 1 },
    );
    const reply = await request(app.url);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('file bytes');
    expect(target.requests.map((r) => r.url)).toEqual(['/redirect', '/file']);
  });

  it('honours instructions whatever status the handler set, and ignores that status', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.status = 500;
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
      },
      { allow: allow() },
    );
    const reply = await request(app.url);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('file bytes');
  });

  it('answers a HEAD client with the head of the GET it stands for', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
      },
      { allow: allow() },
    );
    const reply = await request(app.url, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/pdf');
    expect(target.requests[0]!.method).toBe('HEAD');
  });

  it('destroys a stream body the handler set when it is not forwarded', async () => {
    let destroyed = false;
    const body = new Readable({ read() {} });
    body.on('close', () => (destroyed = true));
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
        ctx.body = body;
      },
      { allow: allow() },
    );
    expect((await request(app.url)).body.toString()).toBe('file bytes');
    await until(() => destroyed, 'handler stream destroyed');
  });

  it('removes instruction headers when the handler throws, and performs nothing', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('X-Accel-Redirect', '/internal/x');
        ctx.set('Offload-Requested', '1');
        ctx.set('Offload-Url', `${target.url}/file`);
        throw new Error('handler failed');
      },
      { allow: allow() },
      async (ctx, next) => {
        try {
          await next();
        } catch {
          ctx.status = 500;
          ctx.body = 'caught';
        }
      },
    );
    const reply = await request(app.url);
    expect(reply.body.toString()).toBe('caught');
    expect(Object.keys(reply.headers).filter((name) => /^(offload-|x-accel-)/.test(name))).toEqual([]);
    expect(target.requests).toHaveLength(0);
    expect(app.handles).toHaveLength(0);
  });

  it('leaves responses without an instruction alone', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.set('Offload-Url', `${target.url}/file`); // no Offload-Requested: not an instruction
        ctx.body = 'plain';
      },
      { allow: allow() },
    );
    const reply = await request(app.url);
    expect(reply.body.toString()).toBe('plain');
    expect(reply.headers['offload-url']).toBeUndefined();
    expect(target.requests).toHaveLength(0);
  });
});

describe('ctx.offload(): the typed form', () => {
  let target: RecordingUpstream;
  let app: OffloadApp;

  beforeEach(async () => {
    target = await recordingUpstream((seen, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${seen.method} ${seen.url} ${seen.headers['content-type'] ?? '-'} ${seen.body}`);
    });
  });

  afterEach(async () => {
    await app?.close();
    await target.close();
  });

  it('sends { url, method, headers, body } and streams the answer', async () => {
    app = await offloadApp(
      (ctx) => {
        ctx.offload({
          url: `${target.url}/typed`,
          headers: { 'content-type': 'text/csv', 'x-job': '9' },
          body: 'a,b\n1,2\n',
        });
        ctx.set('Set-Cookie', 'kept=1');
      },
      { allow: [target.origin] },
    );
    const reply = await request(app.url);
    expect(reply.body.toString()).toBe('POST /typed text/csv a,b\n1,2\n');
    expect(reply.headers['set-cookie']).toEqual(['kept=1']);
    expect(target.requests[0]!.headers['x-job']).toBe('9');
    expect((await onlyOutcome(app)).offload).toBe('url');
  });

  it('checks the typed URL against allow like a header one', async () => {
    app = await offloadApp((ctx) => ctx.offload({ url: 'http://169.254.169.254/latest/meta-data' }), { allow: [target.origin] });
    const reply = await request(app.url);
    expect(reply.status).toBe(403);
    expect((await onlyOutcome(app)).error!.code).toBe('HANDOFF_TARGET_FORBIDDEN');
    expect(app.errors[0]!.message).toContain('offload.allow');
  });

  it('refuses CR/LF in a typed header value with 502 and a logged reason', async () => {
    app = await offloadApp((ctx) => ctx.offload({ url: `${target.url}/x`, headers: { 'x-evil': 'a\r\nInjected: 1' } }), {
      allow: [target.origin],
    });
    const reply = await request(app.url);
    expect(reply.status).toBe(502);
    expect(app.errors[0]).toMatchObject({ code: 'HANDOFF_OFFLOAD_INVALID' });
    expect(app.errors[0]!.message).toContain('x-evil');
    expect(target.requests).toHaveLength(0);
  });

  it('throws a clear error where the offload() middleware did not run for the request', async () => {
    let thrown: unknown;
    app = await offloadApp((ctx) => (ctx.body = 'ok'), { allow: [target.origin] });
    // The same app, with the middleware mounted on one path only.
    const Koa = (await import('koa')).default;
    const http = await import('node:http');
    const { listen } = await import('../helpers/servers');
    const partial = new Koa();
    partial.silent = true;
    partial.use((ctx, next) => (ctx.path === '/with' ? app.middleware(ctx, next) : next()));
    partial.use((ctx) => {
      if (ctx.path === '/without') {
        try {
          ctx.offload({ url: `${target.url}/x` });
        } catch (err) {
          thrown = err;
        }
      }
      ctx.body = 'done';
    });
    const running = await listen(http.createServer(partial.callback()));
    try {
      await request(running.url, { path: '/with' });
      await request(running.url, { path: '/without' });
      expect(thrown).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', message: expect.stringContaining('needs the offload() middleware') });
    } finally {
      await running.close();
    }
  });
});

describe('offload() given handoff().proxy', () => {
  let target: Running;
  let held: http.ServerResponse[];

  beforeEach(async () => {
    held = [];
    target = await upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(16 * 1024, 1));
      if (req.url === '/hold') return held.push(res);
      res.end();
    });
  });

  afterEach(async () => {
    for (const res of held) res.destroy();
    await target.close();
  });

  const to = (targetPath: string) => (ctx: Koa.Context) => {
    ctx.set('Offload-Requested', '1');
    ctx.set('Offload-Url', `${target.url}${targetPath}`);
  };

  it('shares the gate with ctx.proxyFetch when given handoff().proxy', async () => {
    const proxied = handoff({ concurrency: 1 });
    const koa = new Koa();
    koa.silent = true;
    koa.use(proxied);
    koa.use(offload({ allow: [target.url], proxy: proxied.proxy }));
    koa.use(async (ctx) => {
      if (ctx.path === '/proxy') await ctx.proxyFetch(`${target.url}/hold`);
      else to('/quick')(ctx);
    });
    const running = await listen(http.createServer(koa.callback()));
    try {
      await openResponse(`${running.url}/proxy`);
      const offloaded = request(`${running.url}/offload`);
      await until(() => proxied.proxy.stats.queued === 1, 'offload queued behind the proxied transfer');
      held[0]!.end();
      expect((await offloaded).status).toBe(200);
    } finally {
      await proxied.close({ timeout: 0 });
      await running.close();
    }
  });
});
