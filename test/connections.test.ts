import http from 'node:http';
import http2 from 'node:http2';
import Koa from 'koa';
import { handoff } from '@handoff/koa';
import { rawRequest, request } from './helpers/client';
import { gateway, listen, upstream, type Gateway, type Running } from './helpers/servers';

describe('client connections', () => {
  let origin: Running;
  let proxy: Gateway | undefined;

  beforeEach(async () => {
    origin = await upstream((req, res) => res.end(`hello ${req.url}`));
  });

  afterEach(async () => {
    await proxy?.close();
    await origin.close();
    proxy = undefined;
  });

  it("keeps the client connection alive in 'response' mode", async () => {
    proxy = await gateway((ctx) => ctx.proxyFetch(`${origin.url}${ctx.url}`));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      const one = await request(proxy.url, { path: '/1', agent });
      const two = await request(proxy.url, { path: '/2', agent });
      expect([one.body.toString(), two.body.toString()]).toEqual(['hello /1', 'hello /2']);
      expect(one.headers.connection).toBe('keep-alive');
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("takes the socket over in 'socket' mode: exact head, Connection: close, then a clean close", async () => {
    proxy = await gateway((ctx) => ctx.proxyFetch(`${origin.url}${ctx.url}`, { mode: 'socket' }));
    const { text, cleanEnd } = await rawRequest(proxy.port, 'GET /raw HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(cleanEnd).toBe(true);
    const [head, body] = text.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 200 OK');
    expect(lines).toContain('connection: close');
    expect(lines).toContain('content-length: 10');
    expect(body).toBe('hello /raw');
  });

  it("answers an HTTP/1.0 client in 'socket' mode without chunked framing", async () => {
    proxy = await gateway((ctx) => ctx.proxyFetch(`${origin.url}${ctx.url}`, { mode: 'socket' }));
    const { text } = await rawRequest(proxy.port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(text).toContain('content-length: 10');
    expect(text).not.toContain('chunked');
    expect(text.endsWith('hello /old')).toBe(true);
  });

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
