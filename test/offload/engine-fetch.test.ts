import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { OffloadRules, ProxyCallOptions, ProxyOptions } from '@handoff/core';
import { request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import { until } from '../helpers/wait';

/**
 * proxy.fetch(req, res, backend, { offload }) — the engine option the sidecar uses —
 * driven directly with a real backend answering with instructions.
 */
describe('proxy.fetch(..., { offload }): instructions in an upstream response', () => {
  let backend: RecordingUpstream;
  let target: RecordingUpstream;
  let gw: EngineGateway;
  let dir: string;
  let answer: (url: string, res: http.ServerResponse) => void;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-engine-'));
    fs.writeFileSync(path.join(dir, 'report.csv'), 'a,b\n1,2\n');
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    target = await recordingUpstream((seen, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'target=1', 'x-sendfile': '/etc/passwd' });
      res.end(`target ${seen.method} ${seen.url} [${seen.headers['content-type'] ?? '-'}|${seen.headers['content-length'] ?? 'chunked'}] ${seen.body}`);
    });
    backend = await recordingUpstream((seen, res) => answer(seen.url, res));
  });

  afterEach(async () => {
    await gw.close();
    await backend.close();
    await target.close();
  });

  async function sidecar(rules: OffloadRules, options: Partial<ProxyCallOptions> = {}, proxyOptions: ProxyOptions = {}): Promise<void> {
    gw = await engineGateway(
      ({ fetch, url, method }) => fetch(`${backend.url}${url}`, { method, body: 'request', offload: rules, ...options }),
      proxyOptions,
    );
  }

  it('performs Offload-Url from the backend head, keeps the backend\'s kept headers, and reports the outcome', async () => {
    answer = (_url, res) => {
      res.writeHead(200, {
        'offload-requested': '1',
        'offload-url': `${target.url}/signed?x=1`,
        'set-cookie': 'session=abc',
        'x-backend-only': 'dropped',
        'content-type': 'text/html',
      });
      res.end('<p>ignored</p>');
    };
    await sidecar({ allow: [target.origin] });
    const reply = await request(gw.url, { path: '/download/1' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('target GET /signed?x=1 [-|chunked] ');
    expect(reply.headers['set-cookie']).toEqual(['session=abc']);
    expect(reply.headers['x-backend-only']).toBeUndefined();
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.headers['x-sendfile']).toBeUndefined();
    const outcome = await gw.handles[0]!.done;
    expect(outcome).toMatchObject({ status: 200, offload: 'url' });
    expect(outcome.error).toBeUndefined();
    expect(outcome.instructionMs).toBeGreaterThanOrEqual(0);
    expect(outcome.headersMs).toBeGreaterThanOrEqual(outcome.instructionMs!);
  });

  it('forwards the backend body with its Content-Type and Content-Length under Offload-Forward-Body', async () => {
    answer = (_url, res) => {
      res.writeHead(200, {
        'offload-requested': '1',
        'offload-url': `${target.url}/render`,
        'offload-method': 'POST',
        'offload-forward-body': '1',
        'content-type': 'application/json',
        'content-length': '13',
      });
      res.write('{"pages":');
      setImmediate(() => res.end('12}\n'));
    };
    await sidecar({ allow: [target.origin] });
    const reply = await request(gw.url);
    expect(reply.body.toString()).toBe('target POST /render [application/json|13] {"pages":12}\n');
  });

  it('forwards a chunked backend body chunked, with backpressure, whatever its size', async () => {
    const big = 'x'.repeat(300 * 1024);
    answer = (_url, res) => {
      res.writeHead(200, {
        'offload-requested': '1',
        'offload-url': `${target.url}/upload`,
        'offload-method': 'POST',
        'offload-forward-body': '1',
        'content-type': 'text/plain',
      });
      res.write(big.slice(0, 1000));
      res.end(big.slice(1000));
    };
    await sidecar({ allow: [target.origin] });
    const reply = await request(gw.url);
    expect(reply.status).toBe(200);
    expect(target.requests[0]!.body).toBe(big);
    expect(target.requests[0]!.headers['transfer-encoding']).toBe('chunked');
  });

  it('performs X-Accel-Redirect and X-Sendfile from the backend', async () => {
    answer = (url, res) => {
      if (url === '/accel') res.setHeader('x-accel-redirect', '/protected/r.pdf');
      else res.setHeader('x-sendfile', path.join(dir, 'report.csv'));
      res.end();
    };
    await sidecar({ accel: { '/protected/': `${target.url}/files/` }, sendfileRoots: [dir] });
    expect((await request(gw.url, { path: '/accel' })).body.toString()).toBe('target GET /files/r.pdf [-|chunked] ');
    const file = await request(gw.url, { path: '/file' });
    expect(file.body.toString()).toBe('a,b\n1,2\n');
    expect(file.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect((await gw.handles[0]!.done).offload).toBe('accel');
    expect((await gw.handles[1]!.done).offload).toBe('sendfile');
  });

  it('runs an async onHeaders on the offloaded head (target and file alike) before any byte is sent', async () => {
    answer = (url, res) => {
      if (url === '/url') res.writeHead(200, { 'offload-requested': '1', 'offload-url': `${target.url}/x` });
      else res.writeHead(200, { 'x-sendfile': path.join(dir, 'report.csv') });
      res.end();
    };
    await sidecar(
      { allow: [target.origin], sendfileRoots: [dir] },
      {
        onHeaders: async (head) => {
          await new Promise((resolve) => setImmediate(resolve));
          head.headers['x-checked'] = String(head.status);
        },
      },
    );
    const viaUrl = await request(gw.url, { path: '/url' });
    expect(viaUrl.headers['x-checked']).toBe('200');
    expect(viaUrl.body.toString()).toBe('target GET /x [-|chunked] ');
    const viaFile = await request(gw.url, { path: '/file' });
    expect(viaFile.headers['x-checked']).toBe('200');
    expect(viaFile.body.toString()).toBe('a,b\n1,2\n');
  });

  it('relays a response without an instruction, minus every instruction header, and with no offload in the outcome', async () => {
    answer = (_url, res) => {
      res.writeHead(200, { 'offload-url': `${target.url}/x`, 'x-accel-buffering': 'no', 'x-sendfile-type': 'X-Sendfile', 'x-kept': '1' });
      res.end('plain');
    };
    await sidecar({ allow: [target.origin] });
    const reply = await request(gw.url);
    expect(reply.body.toString()).toBe('plain');
    expect(Object.keys(reply.headers).filter((name) => /^(offload-|x-accel-|x-sendfile)/.test(name))).toEqual([]);
    expect(reply.headers['x-kept']).toBe('1');
    const outcome = await gw.handles[0]!.done;
    expect(outcome.offload).toBeUndefined();
    expect(outcome.headersMs).toBeGreaterThanOrEqual(0);
    expect(target.requests).toHaveLength(0);
  });

  it('never forwards client-sent instruction headers to the backend, even if forwardHeaders lists them; explicit headers go', async () => {
    answer = (_url, res) => res.end('ok');
    await sidecar({ allow: [target.origin] }, { forwardHeaders: ['x-sendfile', 'offload-url'], headers: { 'x-sendfile-type': 'X-Sendfile' } });
    await request(gw.url, { headers: { 'x-sendfile': '/etc/passwd', 'offload-url': 'http://evil.invalid/' } });
    const seen = backend.requests[0]!.headers;
    expect(seen['x-sendfile']).toBeUndefined();
    expect(seen['offload-url']).toBeUndefined();
    expect(seen['x-sendfile-type']).toBe('X-Sendfile');
  });

  it('does not send the call\'s own headers (credentials for the backend) to an Offload-Url target', async () => {
    answer = (_url, res) => {
      res.writeHead(200, { 'offload-requested': '1', 'offload-url': `${target.url}/x` });
      res.end();
    };
    await sidecar({ allow: [target.origin] }, { headers: { authorization: 'Bearer backend-only' }, forwardHeaders: ['cookie'] });
    await request(gw.url, { headers: { cookie: 'sid=1' } });
    expect(backend.requests[0]!.headers).toMatchObject({ authorization: 'Bearer backend-only', cookie: 'sid=1' });
    expect(target.requests[0]!.headers.authorization).toBeUndefined();
    expect(target.requests[0]!.headers.cookie).toBeUndefined();
  });

  it('drains a small backend body so its keep-alive connection is reused', async () => {
    answer = (_url, res) => {
      res.writeHead(200, { 'offload-requested': '1', 'offload-url': `${target.url}/x`, 'content-type': 'text/plain' });
      res.end('a small body nobody reads');
    };
    await sidecar({ allow: [target.origin] });
    for (let i = 0; i < 3; i++) expect((await request(gw.url)).status).toBe(200);
    expect(backend.connections).toBe(1);
  });

  it('drops the connection of a large unread backend body and still completes', async () => {
    answer = (_url, res) => {
      res.writeHead(200, { 'offload-requested': '1', 'offload-url': `${target.url}/x` });
      res.end(Buffer.alloc(1024 * 1024, 1));
    };
    await sidecar({ allow: [target.origin] });
    expect((await request(gw.url)).status).toBe(200);
    await until(() => backend.open === 0, 'backend connection closed');
    await until(() => gw.proxy.stats.inFlight === 0, 'slot released');
  });

  it('answers 504 when a forwarded backend body stalls for bodyTimeout, and frees the slot', async () => {
    const held: http.ServerResponse[] = [];
    answer = (_url, res) => {
      res.writeHead(200, {
        'offload-requested': '1',
        'offload-url': `${target.url}/upload`,
        'offload-method': 'POST',
        'offload-forward-body': '1',
      });
      res.write('part');
      held.push(res);
    };
    await sidecar({ allow: [target.origin] }, { bodyTimeout: 200 });
    const reply = await request(gw.url);
    expect(reply.status).toBe(504);
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_BODY_TIMEOUT');
    expect(outcome.error!.message).toContain('forwarded stalled');
    await until(() => gw.proxy.stats.inFlight === 0, 'slot released');
    for (const res of held) res.destroy();
  });

  it('answers a bad instruction with its status, the message naming the backend request', async () => {
    answer = (_url, res) => {
      res.writeHead(200, { 'offload-requested': '1' });
      res.end();
    };
    await sidecar({ allow: [target.origin] });
    const reply = await request(gw.url, { path: '/r/9' });
    expect(reply.status).toBe(502);
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_OFFLOAD_INVALID');
    expect(outcome.error!.message).toBe(`Upstream sent Offload-Requested without an Offload-Url: GET ${backend.url}/r/9`);
  });

  it('refuses every Offload-Url when offload.allow is not set (403)', async () => {
    answer = (_url, res) => {
      res.writeHead(200, { 'offload-requested': '1', 'offload-url': `${target.url}/x` });
      res.end();
    };
    await sidecar({});
    expect((await request(gw.url)).status).toBe(403);
    expect((await gw.handles[0]!.done).error!.message).toContain('offload.allow is not set');
    expect(target.requests).toHaveLength(0);
  });

  it('with a predicate allow, refuses loopback literals before connecting and names resolving to loopback at connect time', async () => {
    answer = (url, res) => {
      const host = url === '/literal' ? '127.0.0.1' : 'localhost';
      res.writeHead(200, { 'offload-requested': '1', 'offload-url': `http://${host}:${target.port}/x` });
      res.end();
    };
    await sidecar({ allow: () => true });
    expect((await request(gw.url, { path: '/literal' })).status).toBe(403);
    expect((await request(gw.url, { path: '/name' })).status).toBe(403);
    expect((await gw.handles[1]!.done).error!.message).toMatch(/resolved to (127\.0\.0\.1|::1), a private or reserved address/);
    expect(target.connections).toBe(0);
  });

  it('applies X-Accel-Limit-Rate to a plain relayed response too, and refuses a malformed one', async () => {
    answer = (url, res) => {
      res.writeHead(200, { 'x-accel-limit-rate': url === '/bad' ? '-1' : '1048576' });
      res.end('relayed');
    };
    await sidecar({});
    expect((await request(gw.url)).body.toString()).toBe('relayed');
    expect((await request(gw.url, { path: '/bad' })).status).toBe(502);
  });

  it('answers HEAD through the backend and the offload target', async () => {
    answer = (_url, res) => {
      res.writeHead(200, { 'offload-requested': '1', 'offload-url': `${target.url}/x` });
      res.end();
    };
    await sidecar({ allow: [target.origin] });
    const reply = await request(gw.url, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(backend.requests[0]!.method).toBe('HEAD');
    expect(target.requests[0]!.method).toBe('HEAD');
  });

});
