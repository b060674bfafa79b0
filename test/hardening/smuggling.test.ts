// RELIABILITY.md group D: header injection and smuggling.
import type http from 'node:http';
import { rawRequest, request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { MODES } from '../helpers/modes';
import { upstream, type Running } from '../helpers/servers';

describe.each(MODES)('header injection and smuggling (%s mode)', (mode) => {
  let origin: Running;
  let gw: EngineGateway;
  let seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];

  beforeEach(async () => {
    seen = [];
    origin = await upstream((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.end('ok');
      });
    });
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it('never emits CR or LF from a path built with user input', async () => {
    gw = await engineGateway(({ fetch, query }) => fetch(`${origin.url}/r/${query.id as string}`, { mode }));
    const reply = await request(gw.url, { path: `/?id=${encodeURIComponent('1\r\nX-Injected: yes\r\n')}` });
    expect(reply.status).toBe(200);
    expect(seen[0]!.headers['x-injected']).toBeUndefined();
    expect(seen[0]!.url).not.toMatch(/[\r\n]/);
  });

  it('forwards a query string byte-identical, existing escapes untouched', async () => {
    const query = '?a=%41%2f&b=x+y&c=%zz&d=%E2%82%AC&e=a/b?c';
    gw = await engineGateway(({ fetch, search }) => fetch(`${origin.url}/q${search}`, { mode }));
    await request(gw.url, { path: `/${query}` });
    expect(seen[0]!.url).toBe(`/q${query}`);
  });

  it('frames the upstream request itself: a client CL+TE conflict never reaches the upstream as sent', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode, method: 'POST', body: 'request' }));
    const smuggle =
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const reply = await rawRequest(gw.port, smuggle);
    expect(reply.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(seen.map((s) => s.url)).not.toContain('/smuggled');
    expect(seen).toEqual([]);
  });

  it('re-frames a chunked upload: the upstream sees the body, never the client’s chunk syntax', async () => {
    // Streamed (requestBuffer: 0): undici frames it chunked. A buffered one goes with its length (test/slow-clients).
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode, method: 'POST', body: 'request', requestBuffer: 0 }));
    const reply = await rawRequest(
      gw.port,
      'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen[0]!.body).toBe('hello');
    expect(seen[0]!.headers['content-length']).toBeUndefined();
  });

  it('strips client-sent forwarding headers and instruction headers the proxy could honour', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/x`, { mode }));
    await request(gw.url, {
      headers: {
        forwarded: 'for=6.6.6.6',
        'x-real-ip': '6.6.6.6',
        'x-forwarded-for': '6.6.6.6',
        'offload-url': 'http://evil.test/',
        'x-accel-redirect': '/internal/secret',
        'x-sendfile': '/etc/passwd',
      },
    });
    const headers = seen[0]!.headers;
    expect(headers.forwarded).toBeUndefined();
    expect(headers['x-real-ip']).toBeUndefined();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['offload-url']).toBeUndefined();
    expect(headers['x-accel-redirect']).toBeUndefined();
    expect(headers['x-sendfile']).toBeUndefined();
  });

  it('adds its own X-Forwarded-* after stripping, so Connection cannot remove them', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/x`, { mode }));
    await request(gw.url, { headers: { connection: 'close, x-forwarded-for, x-forwarded-proto, x-forwarded-host' } });
    expect(seen[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen[0]!.headers['x-forwarded-proto']).toBe('http');
    expect(seen[0]!.headers['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
  });
});
