import type http from 'node:http';
import { openResponse, readBody, request } from './helpers/client';
import { ADAPTER_MODES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe.each(ADAPTER_MODES)('the concurrency gate (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway;
  let held: http.ServerResponse[];
  let active: number;
  let maxActive: number;

  beforeEach(async () => {
    held = [];
    active = maxActive = 0;
    origin = await upstream((req, res) => {
      active++;
      maxActive = Math.max(maxActive, active);
      res.on('close', () => active--);
      res.writeHead(200);
      res.flushHeaders();
      if (req.url === '/hold') held.push(res);
      else res.end('ok');
    });
  });

  afterEach(async () => {
    for (const res of held) res.destroy();
    await gw.close();
    await origin.close();
  });

  const stats = () => gw.proxy.stats;

  it('never runs more than `concurrency` upstream transfers, and runs queued ones in order', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }), { concurrency: 2, maxQueue: 10 });
    const holders = [await openResponse(`${gw.url}/hold`), await openResponse(`${gw.url}/hold`)];
    const waiting = [request(`${gw.url}/quick`), request(`${gw.url}/quick`), request(`${gw.url}/quick`)];
    await until(() => stats().queued === 3, 'three queued');
    expect(stats().inFlight).toBe(2);
    expect(maxActive).toBe(2);
    for (const res of held) res.end();
    for (const { res } of holders) void readBody(res);
    const replies = await Promise.all(waiting);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(maxActive).toBe(2);
    await until(() => stats().inFlight === 0 && stats().queued === 0, 'gate idle');
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }), { concurrency: 1, maxQueue: 1, retryAfter: 7 });
    await openResponse(`${gw.url}/hold`);
    const queued = request(`${gw.url}/quick`);
    await until(() => stats().queued === 1, 'one queued');
    const rejected = await request(`${gw.url}/quick`);
    expect(rejected.status).toBe(503);
    expect(rejected.headers['retry-after']).toBe('7');
    expect((await gw.handles[2]!.done).error!.code).toBe('HANDOFF_QUEUE_FULL');
    held[0]!.end();
    expect((await queued).status).toBe(200);
  });

  it('answers 503 with Retry-After when the wait exceeds queueTimeout', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }), { concurrency: 1, queueTimeout: 50 });
    await openResponse(`${gw.url}/hold`);
    const reply = await request(`${gw.url}/quick`);
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('1');
    expect((await gw.handles[1]!.done).error!.code).toBe('HANDOFF_QUEUE_TIMEOUT');
    expect(stats().queued).toBe(0);
    expect(stats().inFlight).toBe(1);
  });

  it('with maxQueue 0 refuses at once when every slot is taken', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }), { concurrency: 1, maxQueue: 0 });
    await openResponse(`${gw.url}/hold`);
    expect((await request(`${gw.url}/quick`)).status).toBe(503);
  });
});
