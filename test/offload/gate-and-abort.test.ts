import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import { handoff, offload } from '@handoff/koa';
import { openResponse, request } from '../helpers/client';
import { listen, until, upstream, type Running } from '../helpers/servers';
import { offloadApp, type OffloadApp } from './helpers';

describe('offloads run through the gate, timeouts and abort handling of the engine', () => {
  let target: Running;
  let app: OffloadApp;
  let held: http.ServerResponse[];
  let closedUpstream: number;

  beforeEach(async () => {
    held = [];
    closedUpstream = 0;
    target = await upstream((req, res) => {
      res.on('close', () => closedUpstream++);
      if (req.url === '/silent') return held.push(res);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(16 * 1024, 1));
      if (req.url === '/hold') return held.push(res);
      res.end();
    });
  });

  afterEach(async () => {
    for (const res of held) res.destroy();
    await app?.close();
    await target.close();
  });

  const to = (targetPath: string) => (ctx: Koa.Context) => {
    ctx.set('Offload-Requested', '1');
    ctx.set('Offload-Url', `${target.url}${targetPath}`);
  };
  const stats = () => app.middleware.proxy.stats;

  it('queues offloads behind concurrency 1 and runs the next when the first ends', async () => {
    app = await offloadApp((ctx) => to(ctx.path === '/first' ? '/hold' : '/quick')(ctx), { allow: [target.url], proxy: { concurrency: 1 } });
    const first = await openResponse(`${app.url}/first`);
    expect(first.res.statusCode).toBe(200);
    const second = request(`${app.url}/second`);
    await until(() => stats().queued === 1, 'second offload queued');
    expect(stats().inFlight).toBe(1);
    held[0]!.end();
    first.res.resume();
    expect((await second).status).toBe(200);
    await until(() => stats().inFlight === 0 && stats().queued === 0, 'gate idle');
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    app = await offloadApp(to('/hold'), { allow: [target.url], proxy: { concurrency: 1, maxQueue: 0 } });
    await openResponse(app.url);
    const refused = await request(app.url);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    await until(() => app.errors.some((err) => (err as { code?: string }).code === 'HANDOFF_QUEUE_FULL'), 'queue-full logged');
  });

  it('a client leaving mid-offload aborts the target request and releases the slot', async () => {
    app = await offloadApp(to('/hold'), { allow: [target.url] });
    const { res } = await openResponse(app.url);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await until(() => closedUpstream === 1, 'target request aborted');
    await until(() => app.handles.length === 1, 'handle recorded');
    expect((await app.handles[0]!.done).error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    await until(() => stats().inFlight === 0 && stats().upstreamSockets === 0, 'slot and socket released');
  });

  it('a client leaving while queued behind an offload is removed from the queue', async () => {
    app = await offloadApp(to('/hold'), { allow: [target.url], proxy: { concurrency: 1 } });
    await openResponse(app.url);
    const queued = http.get(app.url, { agent: false });
    queued.on('error', () => {});
    await until(() => stats().queued === 1, 'queued');
    queued.destroy();
    await until(() => stats().queued === 0, 'left the queue');
    expect(stats().inFlight).toBe(1);
  });

  it('applies headersTimeout to the offload target (504)', async () => {
    app = await offloadApp(to('/silent'), { allow: [target.url], proxy: { headersTimeout: 150 } });
    const reply = await request(app.url);
    expect(reply.status).toBe(504);
    expect(app.errors[0]).toMatchObject({ code: 'HANDOFF_HEADERS_TIMEOUT' });
    await until(() => stats().inFlight === 0, 'slot released');
  });

  it('applies bodyTimeout to the offloaded body: a stall cuts the connection, it is not a total-duration limit', async () => {
    app = await offloadApp(to('/hold'), { allow: [target.url], proxy: { bodyTimeout: 150 } });
    const { res } = await openResponse(app.url);
    const ended = new Promise<boolean>((resolve) => {
      res.on('error', () => resolve(false));
      res.on('end', () => resolve(res.complete));
      res.on('close', () => resolve(res.complete));
      res.resume();
    });
    expect(await ended).toBe(false);
    await until(() => app.handles.length === 1, 'handle recorded');
    expect((await app.handles[0]!.done).error!.code).toBe('HANDOFF_BODY_TIMEOUT');
  });

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

describe('a client leaving mid-sendfile', () => {
  let dir: string;
  let app: OffloadApp;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-abort-'));
    fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  afterEach(async () => {
    await app?.close();
  });

  it('closes the file and releases the slot', async () => {
    app = await offloadApp((ctx) => ctx.set('X-Sendfile', path.join(dir, 'big.bin')), { sendfileRoots: [dir] });
    const { res } = await openResponse(app.url);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await until(() => app.handles.length === 1, 'handle recorded');
    const outcome = await app.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    expect(outcome.bytes).toBeLessThan(8 * 1024 * 1024);
    expect(app.middleware.proxy.stats.inFlight).toBe(0);
    // The read stream is destroyed: no file handle is left reading.
    await until(() => !process.getActiveResourcesInfo().includes('FSReqCallback'), 'file reads stopped');
  });
});
