import type http from 'node:http';
import type { ProxyMode } from '@handoff/koa';
import { openResponse, readBody, request } from './helpers/client';
import { recordingRoute } from './helpers/handles';
import { gateway, until, upstream, type Gateway, type Running } from './helpers/servers';

const MODES: ProxyMode[] = ['response', 'socket'];

describe.each(MODES)('the concurrency gate (%s mode)', (mode) => {
  let origin: Running;
  let proxy: Gateway;
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
    await proxy.close();
    await origin.close();
  });

  const stats = () => proxy.handoff.proxy.stats;

  it('never runs more than `concurrency` upstream transfers, and runs queued ones in order', async () => {
    const recorded = recordingRoute((ctx) => `${origin.url}${ctx.path}`, { mode });
    proxy = await gateway(recorded.route, { concurrency: 2, maxQueue: 10 });
    const holders = [await openResponse(`${proxy.url}/hold`), await openResponse(`${proxy.url}/hold`)];
    const waiting = [request(`${proxy.url}/quick`), request(`${proxy.url}/quick`), request(`${proxy.url}/quick`)];
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
    const recorded = recordingRoute((ctx) => `${origin.url}${ctx.path}`, { mode });
    proxy = await gateway(recorded.route, { concurrency: 1, maxQueue: 1, retryAfter: 7 });
    await openResponse(`${proxy.url}/hold`);
    const queued = request(`${proxy.url}/quick`);
    await until(() => stats().queued === 1, 'one queued');
    const rejected = await request(`${proxy.url}/quick`);
    expect(rejected.status).toBe(503);
    expect(rejected.headers['retry-after']).toBe('7');
    expect((await recorded.handles[2]!.done).error!.code).toBe('HANDOFF_QUEUE_FULL');
    held[0]!.end();
    expect((await queued).status).toBe(200);
  });

  it('answers 503 with Retry-After when the wait exceeds queueTimeout', async () => {
    const recorded = recordingRoute((ctx) => `${origin.url}${ctx.path}`, { mode });
    proxy = await gateway(recorded.route, { concurrency: 1, queueTimeout: 50 });
    await openResponse(`${proxy.url}/hold`);
    const reply = await request(`${proxy.url}/quick`);
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('1');
    expect((await recorded.handles[1]!.done).error!.code).toBe('HANDOFF_QUEUE_TIMEOUT');
    expect(stats().queued).toBe(0);
    expect(stats().inFlight).toBe(1);
  });

  it('with maxQueue 0 refuses at once when every slot is taken', async () => {
    const recorded = recordingRoute((ctx) => `${origin.url}${ctx.path}`, { mode });
    proxy = await gateway(recorded.route, { concurrency: 1, maxQueue: 0 });
    await openResponse(`${proxy.url}/hold`);
    expect((await request(`${proxy.url}/quick`)).status).toBe(503);
  });
});
