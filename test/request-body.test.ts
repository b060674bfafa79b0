import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { ProxyCallOptions } from '@handoff/core';
import { request } from './helpers/client';
import { ADAPTER_MODES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe.each(ADAPTER_MODES)('request bodies sent upstream (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway;
  let received: { method: string; headers: http.IncomingHttpHeaders; sha: string; bytes: number }[];

  beforeEach(async () => {
    received = [];
    origin = await upstream((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      req.on('end', () => {
        received.push({ method: req.method!, headers: req.headers, sha: hash.digest('hex'), bytes });
        res.end(String(bytes));
      });
    });
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  it("streams the client's upload with body: 'request', keeping its content type and length", async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/up`, { mode, method: 'PUT', body: 'request' }));
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const reply = await request(gw.url, {
      method: 'POST',
      body: data,
      headers: { 'content-type': 'application/x-thing', 'content-length': data.length },
    });
    expect(reply.body.toString()).toBe(String(data.length));
    expect(received[0]).toMatchObject({ method: 'PUT', sha: sha(data), bytes: data.length });
    expect(received[0]!.headers['content-type']).toBe('application/x-thing');
    expect(received[0]!.headers['content-length']).toBe(String(data.length));
  });

  it('streams a chunked upload of unknown length', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/up`, { mode, method: 'POST', body: 'request' }));
    const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(5)];
    const reply = (await request(`${gw.url}/`, { method: 'POST', body: parts })).body.toString();
    expect(reply).toBe('71005');
    expect(received[0]!.sha).toBe(sha(Buffer.concat(parts)));
    expect(received[0]!.headers['transfer-encoding']).toBe('chunked');
  });

  it.each<[string, () => ProxyCallOptions['body'], Buffer]>([
    ['a string', () => 'text body', Buffer.from('text body')],
    ['a Buffer', () => Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3])],
    ['a Uint8Array', () => new Uint8Array([4, 5]), Buffer.from([4, 5])],
    ['a Readable', () => Readable.from([Buffer.from('a'), Buffer.from('bc')]), Buffer.from('abc')],
  ])('sends %s as the body', async (_what, body, expected) => {
    gw = await engineGateway(({ fetch }) =>
      fetch(`${origin.url}/up`, { mode, method: 'POST', body: body(), headers: { 'content-type': 'text/plain' } }),
    );
    await request(gw.url);
    expect(received[0]).toMatchObject({ method: 'POST', sha: sha(expected), bytes: expected.length });
  });

  it('aborts the upstream upload when the client leaves mid-upload, leaving nothing complete upstream', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/up`, { mode, method: 'POST', body: 'request' }));
    const upstreamClosed = new Promise<void>((resolve) =>
      origin.server.once('request', (upstreamReq: http.IncomingMessage) => upstreamReq.on('close', resolve)),
    );
    const upstreamStarted = new Promise((resolve) => origin.server.once('request', resolve));
    const req = http.request(`${gw.url}/`, { method: 'POST', agent: false, headers: { 'content-length': 1_000_000 } });
    req.on('error', () => {});
    req.write(randomBytes(64 * 1024));
    await upstreamStarted;
    req.destroy();
    await upstreamClosed;
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    await until(() => gw.proxy.stats.inFlight === 0, 'slot released');
    expect(received).toEqual([]);
  });
});
