import { request } from './helpers/client';
import { ADAPTER_MODES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';

describe.each(ADAPTER_MODES)('relaying the upstream response (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway;

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
    await gw.close();
    await origin.close();
  });

  it('streams status, headers and body, with every Set-Cookie value kept', async () => {
    gw = await engineGateway(({ fetch, url }) => fetch(`${origin.url}${url}`, { mode }));
    const reply = await request(gw.url, { path: '/r/7?x=1' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({ method: 'GET', url: '/r/7?x=1' });
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(reply.headers['content-length']).toBe(String(reply.body.length));
  });

  it('relays a body of unknown length chunked, never close-delimited', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/chunked`, { mode }));
    const reply = await request(gw.url);
    expect(reply.status).toBe(201);
    expect(reply.body.toString()).toBe('part one, part two');
    expect(reply.headers['transfer-encoding']).toBe('chunked');
  });

  it('lets onHeaders change headers in place (the README snippet)', async () => {
    gw = await engineGateway(({ fetch }) =>
      fetch(`${origin.url}/r/1`, {
        mode,
        onHeaders: (res) => {
          res.headers['content-security-policy'] = 'sandbox;';
          delete res.headers['x-internal'];
        },
      }),
    );
    const reply = await request(gw.url);
    expect(reply.headers['content-security-policy']).toBe('sandbox;');
    expect(reply.headers['x-internal']).toBeUndefined();
    expect(reply.headers['set-cookie']).toHaveLength(2);
  });

  it('lets an async onHeaders return a replacement head', async () => {
    gw = await engineGateway(({ fetch }) =>
      fetch(`${origin.url}/r/1`, {
        mode,
        onHeaders: async (res) => {
          await new Promise((resolve) => setImmediate(resolve));
          return { status: 203, headers: { 'content-type': res.headers['content-type'] as string, 'x-replaced': 'yes' } };
        },
      }),
    );
    const reply = await request(gw.url);
    expect(reply.status).toBe(203);
    expect(reply.headers['x-replaced']).toBe('yes');
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(JSON.parse(reply.body.toString()).url).toBe('/r/1');
  });

  it('sends no body for HEAD requests and bodiless statuses', async () => {
    gw = await engineGateway(({ fetch, path, method }) => fetch(`${origin.url}${path}`, { mode, method }));
    const head = await request(gw.url, { method: 'HEAD', path: '/r/1' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);

    const empty = await request(gw.url, { path: '/empty' });
    expect(empty.status).toBe(204);
    expect(empty.headers['x-kind']).toBe('empty');
    expect(empty.body.length).toBe(0);
  });

  it('keeps headers the app set before handing off (CORS and the like), over the upstream ones', async () => {
    gw = await engineGateway(({ res, fetch }) => {
      res.setHeader('access-control-allow-origin', 'https://app.example');
      res.setHeader('content-type', 'application/vnd.app+json');
      return fetch(`${origin.url}/r/1`, { mode });
    });
    const reply = await request(gw.url);
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(reply.headers['content-type']).toBe('application/vnd.app+json');
  });
});
