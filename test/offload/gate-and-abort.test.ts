import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { openResponse, readBody, request } from '../helpers/client';
import { engineGateway, type EngineGateway, type GatewayCall } from '../helpers/engine-gateway';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';

describe('offloads run through the gate, timeouts and abort handling of the engine', () => {
  let target: Running;
  let gw: EngineGateway;
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
    await gw?.close();
    await target.close();
  });

  /** Offloads as a handler answering `Offload-Requested` and `Offload-Url: <target><targetPath>` does, allowed to reach the target. */
  const to = (targetPath: string) => ({ offload }: GatewayCall) =>
    offload({ headers: { 'offload-requested': '1', 'offload-url': `${target.url}${targetPath}` } }, { offload: { allow: [target.url] } });
  const stats = () => gw.proxy.stats;

  it('queues offloads behind concurrency 1 and runs the next when the first ends', async () => {
    gw = await engineGateway((call) => to(call.path === '/first' ? '/hold' : '/quick')(call), { concurrency: 1 });
    const first = await openResponse(`${gw.url}/first`);
    expect(first.res.statusCode).toBe(200);
    const second = request(`${gw.url}/second`);
    await until(() => stats().queued === 1, 'second offload queued');
    expect(stats().inFlight).toBe(1);
    held[0]!.end();
    first.res.resume();
    expect((await second).status).toBe(200);
    await until(() => stats().inFlight === 0 && stats().queued === 0, 'gate idle');
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    gw = await engineGateway(to('/hold'), { concurrency: 1, maxQueue: 0 });
    await openResponse(gw.url);
    const refused = await request(gw.url);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    await until(() => gw.errors.some((err) => (err as { code?: string }).code === 'HANDOFF_QUEUE_FULL'), 'queue-full logged');
  });

  it('a client leaving mid-offload aborts the target request and releases the slot', async () => {
    gw = await engineGateway(to('/hold'));
    const { res } = await openResponse(gw.url);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await until(() => closedUpstream === 1, 'target request aborted');
    await until(() => gw.handles.length === 1, 'handle recorded');
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    await until(() => stats().inFlight === 0 && stats().upstreamSockets === 0, 'slot and socket released');
  });

  it('a client leaving while queued behind an offload is removed from the queue', async () => {
    gw = await engineGateway(to('/hold'), { concurrency: 1 });
    await openResponse(gw.url);
    const queued = http.get(gw.url, { agent: false });
    queued.on('error', () => {});
    await until(() => stats().queued === 1, 'queued');
    queued.destroy();
    await until(() => stats().queued === 0, 'left the queue');
    expect(stats().inFlight).toBe(1);
  });

  it('applies headersTimeout to the offload target (504)', async () => {
    gw = await engineGateway(to('/silent'), { headersTimeout: 150 });
    const reply = await request(gw.url);
    expect(reply.status).toBe(504);
    expect(gw.errors[0]).toMatchObject({ code: 'HANDOFF_HEADERS_TIMEOUT' });
    await until(() => stats().inFlight === 0, 'slot released');
  });

  it('applies bodyTimeout to the offloaded body: a stall cuts the connection, it is not a total-duration limit', async () => {
    gw = await engineGateway(to('/hold'), { bodyTimeout: 150 });
    const { res } = await openResponse(gw.url);
    const ended = readBody(res).then(({ complete }) => complete);
    expect(await ended).toBe(false);
    await until(() => gw.handles.length === 1, 'handle recorded');
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_BODY_TIMEOUT');
  });

});

describe('a client leaving mid-sendfile', () => {
  let dir: string;
  let gw: EngineGateway;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-abort-'));
    fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  afterEach(async () => {
    await gw?.close();
  });

  it('closes the file and releases the slot', async () => {
    gw = await engineGateway(({ offload }) => offload({ headers: { 'x-sendfile': path.join(dir, 'big.bin') } }, { offload: { sendfileRoots: [dir] } }));
    const { res } = await openResponse(gw.url);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await until(() => gw.handles.length === 1, 'handle recorded');
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    expect(outcome.bytes).toBeLessThan(8 * 1024 * 1024);
    expect(gw.proxy.stats.inFlight).toBe(0);
    // The read stream is destroyed: no file handle is left reading.
    await until(() => !process.getActiveResourcesInfo().includes('FSReqCallback'), 'file reads stopped');
  });
});
