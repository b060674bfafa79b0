// RELIABILITY B14: `100 Continue` only when the body will be read. Node answers every
// `Expect: 100-continue` itself unless the server handles 'checkContinue': with
// expectContinue() installed, the 100 goes out when the body is first read, so an upload
// refused by its declared size (413) or by a route (401) is never asked for.
import http from 'node:http';
import net from 'node:net';
import Koa from 'koa';
import { expectContinue, handoff } from '@handoff/koa';
import { listen, upstream, type Running } from '../helpers/servers';

/** Sends a head with Expect: 100-continue; sends `body` only if a 100 comes first. Resolves with everything received. */
function expecting(port: number, path: string, length: number, body: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let sent = false;
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (!sent && text.startsWith('HTTP/1.1 100 ')) {
        sent = true;
        socket.write(body);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`);
  });
}

describe('Expect: 100-continue with the Koa adapter', () => {
  let origin: Running;
  let gateway: Running;
  let middleware: ReturnType<typeof handoff>;
  const received: string[] = [];

  beforeAll(async () => {
    origin = await upstream((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push(body);
        res.end(`stored ${body.length}`);
      });
    });
    const app = new Koa();
    app.silent = true;
    middleware = handoff({ maxBodySize: 10 });
    app.use(middleware);
    app.use(async (ctx, next) => {
      if (ctx.get('authorization') !== 'ok' && ctx.path === '/private') ctx.throw(401);
      await next();
    });
    app.use((ctx) => ctx.proxyFetch(`${origin.url}/store`, { method: 'POST', body: 'request' }));
    const server = http.createServer(app.callback());
    server.on('checkContinue', expectContinue(app.callback()));
    gateway = await listen(server);
  });

  afterAll(async () => {
    await middleware.close({ timeout: 0 });
    await gateway.close();
    await origin.close();
  });

  it('refuses a body declared over maxBodySize with 413 at once, without asking for it', async () => {
    const text = await expecting(gateway.port, '/upload', 1000, 'x'.repeat(1000));
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).not.toContain('100 Continue');
    expect(received).not.toContain('x'.repeat(1000));
  });

  it('answers 100 Continue when the engine reads the body, and forwards it', async () => {
    const text = await expecting(gateway.port, '/upload', 5, 'hello');
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 [\s\S]*stored 5$/);
    expect(received).toContain('hello');
  });

  it('never asks for the body of a request a route refuses before reading it', async () => {
    const text = await expecting(gateway.port, '/private', 5, 'hello');
    expect(text).toMatch(/^HTTP\/1\.1 401 /);
    expect(text).not.toContain('100 Continue');
  });

  it('without it, Node answers 100 Continue before any handler runs (why the listener is needed)', async () => {
    const app = new Koa();
    app.silent = true;
    const plain = handoff({ maxBodySize: 10 });
    app.use(plain);
    app.use((ctx) => ctx.proxyFetch(`${origin.url}/store`, { method: 'POST', body: 'request' }));
    const bare = await listen(http.createServer(app.callback()));
    try {
      const text = await expecting(bare.port, '/upload', 1000, 'x'.repeat(1000));
      expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 413 /);
    } finally {
      await plain.close({ timeout: 0 });
      await bare.close();
    }
  });
});
