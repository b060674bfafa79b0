import type { ProxyMode } from '@handoff/koa';
import { request } from './helpers/client';
import { gateway, upstream, type Gateway, type Running } from './helpers/servers';

const MODES: ProxyMode[] = ['response', 'socket'];

describe.each(MODES)('relaying the upstream response (%s mode)', (mode) => {
  let origin: Running;
  let proxy: Gateway;

  beforeEach(async () => {
    origin = await upstream((req, res) => {
      if (req.url === '/empty') {
        res.writeHead(204, { 'x-kind': 'empty' });
        return res.end();
      }
      if (req.url === '/chunked') {
        res.writeHead(201, { 'content-type': 'text/plain' });
        res.write('part one, ');
        return setImmediate(() => res.end('part two'));
      }
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-internal', 'secret');
      const body = JSON.stringify({ method: req.method, url: req.url });
      res.setHeader('content-length', Buffer.byteLength(body));
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  it('streams status, headers and body, with every Set-Cookie value kept', async () => {
    proxy = await gateway((ctx) => ctx.proxyFetch(`${origin.url}${ctx.url}`, { mode }));
    const reply = await request(proxy.url, { path: '/r/7?x=1' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({ method: 'GET', url: '/r/7?x=1' });
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(reply.headers['content-length']).toBe(String(reply.body.length));
  });

  it('relays a body of unknown length chunked, never close-delimited', async () => {
    proxy = await gateway((ctx) => ctx.proxyFetch(`${origin.url}/chunked`, { mode }));
    const reply = await request(proxy.url);
    expect(reply.status).toBe(201);
    expect(reply.body.toString()).toBe('part one, part two');
    expect(reply.headers['transfer-encoding']).toBe('chunked');
  });

  it('lets onHeaders change headers in place (the README snippet)', async () => {
    proxy = await gateway((ctx) =>
      ctx.proxyFetch(`${origin.url}/r/1`, {
        mode,
        onHeaders: (res) => {
          res.headers['content-security-policy'] = 'sandbox;';
          delete res.headers['x-internal'];
        },
      }),
    );
    const reply = await request(proxy.url);
    expect(reply.headers['content-security-policy']).toBe('sandbox;');
    expect(reply.headers['x-internal']).toBeUndefined();
    expect(reply.headers['set-cookie']).toHaveLength(2);
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

  it('sends no body for HEAD requests and bodiless statuses', async () => {
    proxy = await gateway((ctx) => ctx.proxyFetch(`${origin.url}${ctx.path}`, { mode, method: ctx.method }));
    const head = await request(proxy.url, { method: 'HEAD', path: '/r/1' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);

    const empty = await request(proxy.url, { path: '/empty' });
    expect(empty.status).toBe(204);
    expect(empty.headers['x-kind']).toBe('empty');
    expect(empty.body.length).toBe(0);
  });

  it('keeps headers the app set before handing off (CORS and the like), over the upstream ones', async () => {
    proxy = await gateway(async (ctx) => {
      ctx.set('access-control-allow-origin', 'https://app.example');
      ctx.set('content-type', 'application/vnd.app+json');
      await ctx.proxyFetch(`${origin.url}/r/1`, { mode });
    });
    const reply = await request(proxy.url);
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(reply.headers['content-type']).toBe('application/vnd.app+json');
  });
});
