// RELIABILITY.md group B: client misbehaviour.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { openResponse, rawRequest, request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { MODES } from '../helpers/modes';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { dribble, slowRead } from '../faults/clients';

describe.each(MODES)('client misbehaviour (%s mode)', (mode) => {
  let origin: Running;
  let gw: EngineGateway;
  let uploads: { url: string; complete: boolean; bytes: number }[];

  beforeEach(async () => {
    uploads = [];
    origin = await upstream((req, res) => {
      const entry = { url: req.url!, complete: false, bytes: 0 };
      uploads.push(entry);
      req.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
      req.on('end', () => {
        entry.complete = true;
        if (req.url === '/big') {
          res.writeHead(200, { 'content-length': 4 * 1024 * 1024 });
          res.end(Buffer.alloc(4 * 1024 * 1024, 1));
        } else {
          res.end(`got ${entry.bytes}`);
        }
      });
    });
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it('serves a slow but steady reader completely (backpressure, not a timeout)', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/big`, { mode, bodyTimeout: 1_000 }));
    const { res } = await openResponse(gw.url);
    const read = await slowRead(res, 256 * 1024, 5);
    expect(read).toEqual({ length: 4 * 1024 * 1024, complete: true });
  });

  it('answers 408 and aborts the upstream upload when the request body stalls (slowloris)', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/up`, { mode, method: 'POST', body: 'request', bodyTimeout: 200 }));
    const reply = await dribble(gw.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', ['a', 'b'], 1_000);
    expect(reply.text).toMatch(/^HTTP\/1\.1 408 /);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_REQUEST_TIMEOUT');
    await until(() => gw.proxy.stats.inFlight === 0 && gw.proxy.stats.upstreamSockets === 0, 'cleanup');
    expect(uploads.every((u) => !u.complete)).toBe(true);
  });

  it('answers 413 without contacting the upstream when Content-Length exceeds maxBodySize', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/up`, { mode, method: 'POST', body: 'request', maxBodySize: 1000 }));
    const reply = await rawRequest(gw.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n${'a'.repeat(100)}`);
    expect(reply.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply.text.toLowerCase()).toContain('connection: close');
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_REQUEST_TOO_LARGE');
    expect(uploads).toEqual([]);
  });

  it('answers 413 and leaves nothing complete upstream when a chunked upload grows past maxBodySize', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/up`, { mode, method: 'POST', body: 'request', maxBodySize: 100_000 }));
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${gw.url}/`, { method: 'POST', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      for (let i = 0; i < 4; i++) req.write(randomBytes(40_000));
      req.end();
    });
    expect(status).toBe(413);
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_REQUEST_TOO_LARGE');
    await until(() => uploads.length === 0 || gw.proxy.stats.inFlight === 0, 'cleanup');
    expect(uploads.every((u) => !u.complete)).toBe(true);
  });

  it('forwards a body within maxBodySize intact', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/up`, { mode, method: 'POST', body: 'request', maxBodySize: 100_000 }));
    const data = randomBytes(99_999);
    const reply = await request(gw.url, { method: 'POST', body: data });
    expect(reply.body.toString()).toBe('got 99999');
    expect(uploads[0]).toMatchObject({ complete: true, bytes: 99_999 });
  });

  it('does not desynchronise on Expect: 100-continue when the route does not read the body', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }));
    const reply = await rawRequest(
      gw.port,
      'POST /first HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const finals = reply.text.split('HTTP/1.1 ').filter((part) => part && !part.startsWith('100'));
    expect(finals[0]).toMatch(/^200 [\s\S]*got 0$/);
    if (mode === 'response') {
      expect(finals[1]).toMatch(/^200 [\s\S]*got 0$/);
      expect(uploads.map((u) => u.url)).toEqual(['/first', '/second']);
    } else {
      // Socket mode closes the connection after its response: nothing more is answered on it.
      expect(finals).toHaveLength(1);
    }
  });

  it('answers pipelined requests in order, each with its own response', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }));
    const reply = await rawRequest(
      gw.port,
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const statuses = reply.text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
    if (mode === 'response') {
      expect(statuses).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
    } else {
      expect(statuses).toEqual(['HTTP/1.1 200']);
      expect(reply.text).toContain('connection: close');
    }
  });
});
