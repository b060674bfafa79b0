// The sidecar as a spawned process: every request forwarded to the one backend, responses
// without instructions relayed unchanged.
import http from 'node:http';
import { rawRequest, request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { startSidecar, type SidecarProcess } from './helpers/sidecar-process';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('sidecar forwarding', () => {
  let backend: Running;
  let sidecar: SidecarProcess;
  const seen: Seen[] = [];

  beforeAll(async () => {
    backend = await upstream((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url!.startsWith('/app/reset')) return req.socket.destroy();
        res.writeHead(201, [
          ['content-type', 'text/plain'],
          ['set-cookie', 'a=1; HttpOnly'],
          ['set-cookie', 'b=2'],
          ['x-app', 'yes'],
          ['cache-control', 'private, max-age=60'],
        ]);
        res.end(`answer to ${req.method} ${req.url}`);
      });
    });
    sidecar = await startSidecar({ args: ['--backend', `${backend.url}/app`, '--max-body-size', '1k'] });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.kill();
    await backend?.close();
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('forwards method, path and query as sent, the body, and the client headers the application needs', async () => {
    const reply = await request(sidecar.url, {
      method: 'POST',
      path: '/orders/7?x=%2F&y=a+b&z',
      headers: {
        cookie: 'session=abc',
        authorization: 'Bearer t0k',
        'user-agent': 'sidecar-test',
        'content-type': 'application/json',
        'x-request-id': 'r-1',
      },
      body: '{"qty":2}',
    });
    expect(reply.status).toBe(201);
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/app/orders/7?x=%2F&y=a+b&z');
    expect(req!.body).toBe('{"qty":2}');
    expect(req!.headers).toMatchObject({
      cookie: 'session=abc',
      authorization: 'Bearer t0k',
      'user-agent': 'sidecar-test',
      'content-type': 'application/json',
      'x-request-id': 'r-1',
      'content-length': '9',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
    });
  });

  it('relays a response without instructions unchanged: status, every Set-Cookie, headers, body', async () => {
    const reply = await request(sidecar.url, { path: '/page' });
    expect(reply.status).toBe(201);
    expect(reply.headers['set-cookie']).toEqual(['a=1; HttpOnly', 'b=2']);
    expect(reply.headers['x-app']).toBe('yes');
    expect(reply.headers['cache-control']).toBe('private, max-age=60');
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.body.toString()).toBe('answer to GET /app/page');
  });

  it("never forwards the client's own instruction, forwarding or hop-by-hop headers", async () => {
    await request(sidecar.url, {
      path: '/x',
      headers: {
        'x-sendfile-type': 'X-Accel-Redirect',
        'x-accel-mapping': '/=/internal/',
        'offload-url': 'http://evil.example/',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        connection: 'x-secret',
        'x-secret': 'hop',
      },
    });
    const headers = seen[0]!.headers;
    for (const name of ['x-sendfile-type', 'x-accel-mapping', 'offload-url', 'x-secret']) expect(headers[name]).toBeUndefined();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-host']).not.toBe('evil.example');
  });

  it('sends the request target to the backend byte for byte (RELIABILITY D25)', async () => {
    const port = Number(new URL(sidecar.url).port);
    for (const target of ["/p{x}?q='a'\"<b>`|^", '/a/%2e%2e/b?x=%2F%2f', '/a\\b?c=d\\e', '/caf%C3%A9?%E9=1&=&&']) {
      seen.length = 0;
      const reply = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      expect(reply.text).toMatch(/^HTTP\/1\.1 201 /);
      expect(seen[0]!.url).toBe(`/app${target}`);
    }
    const fragment = await rawRequest(port, 'GET /a#b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(fragment.text).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("keeps every request target on the backend's origin and under its path", async () => {
    const slashes = await request(sidecar.url, { path: '//evil.example/x' });
    expect(slashes.status).toBe(201);
    expect(seen[0]!.url).toBe('/app//evil.example/x');

    for (const climb of ['/../admin', '/%2e%2e/admin', '/x/..\\..\\admin']) {
      const climbing = await rawRequest(Number(new URL(sidecar.url).port), `GET ${climb} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      expect(climbing.text).toMatch(/^HTTP\/1\.1 400 /);
    }
    const absolute = await rawRequest(Number(new URL(sidecar.url).port), 'GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    expect(absolute.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(seen).toHaveLength(1);
  });

  it('refuses a request body over maxBodySize with 413 before the backend sees it complete', async () => {
    const reply = await request(sidecar.url, { method: 'PUT', path: '/upload', body: Buffer.alloc(4096, 'x') });
    expect(reply.status).toBe(413);
    expect(seen.filter((s) => s.body.length === 4096)).toHaveLength(0);
  });

  it('sends 100 Continue only for a body it will forward', async () => {
    const port = Number(new URL(sidecar.url).port);
    const head = (length: number) =>
      `PUT /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    const refused = await rawRequest(port, head(4096));
    expect(refused.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(refused.text).not.toContain('100 Continue');

    const accepted = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${sidecar.url}/upload`, { method: 'PUT', agent: false, headers: { expect: '100-continue', 'content-length': 5 } });
      req.on('continue', () => req.end('hello'));
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('error', reject);
    });
    expect(accepted).toBe('201 answer to PUT /app/upload');
    expect(seen.at(-1)!.body).toBe('hello');
  });

  it('answers 502 when the backend fails, and logs one line with the code and no query string', async () => {
    const reply = await request(sidecar.url, { path: '/reset?token=s3cret' });
    expect(reply.status).toBe(502);
    await until(() => sidecar.stderr().includes('HANDOFF_UPSTREAM_RESET'), 'the failure to be logged', { every: 5 });
    const line = sidecar.stderr().split('\n').find((l) => l.includes('HANDOFF_UPSTREAM_RESET'))!;
    expect(line).toMatch(/^handoff: GET \/reset\?… 502 HANDOFF_UPSTREAM_RESET: /);
    expect(sidecar.stderr()).not.toContain('s3cret');
  });
});
