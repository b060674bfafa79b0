import type http from 'node:http';
import type { ProxyMode } from '@handoff/koa';
import { openResponse, readBody, request } from './helpers/client';
import { recordingRoute } from './helpers/handles';
import { gateway, until, upstream, waitForConnections, type Gateway, type Running } from './helpers/servers';

const MODES: ProxyMode[] = ['response', 'socket'];

describe.each(MODES)('close({ timeout }) (%s mode)', (mode) => {
  let origin: Running;
  let proxy: Gateway;
  let held: http.ServerResponse[];

  beforeEach(async () => {
    held = [];
    origin = await upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('start;');
      if (req.url === '/hold') held.push(res);
      else res.end('quick');
    });
  });

  afterEach(async () => {
    for (const res of held) res.destroy();
    await proxy.close();
    await origin.close();
  });

  it('refuses new work with 503, lets in-flight transfers finish, then closes the owned dispatcher', async () => {
    const recorded = recordingRoute((ctx) => `${origin.url}${ctx.path}`, { mode });
    proxy = await gateway(recorded.route, { concurrency: 1 });
    const inflight = await openResponse(`${proxy.url}/hold`);
    const body = readBody(inflight.res);
    const queued = request(`${proxy.url}/quick`);
    await until(() => proxy.handoff.proxy.stats.queued === 1, 'one queued');

    let closed = false;
    const closing = proxy.handoff.close({ timeout: 10_000 }).then(() => (closed = true));
    const queuedReply = await queued;
    expect(queuedReply.status).toBe(503);
    expect(queuedReply.headers['retry-after']).toBe('1');
    const refused = await request(`${proxy.url}/quick`);
    expect(refused.status).toBe(503);
    expect((await recorded.handles[2]!.done).error!.code).toBe('HANDOFF_CLOSED');
    expect(closed).toBe(false);

    held[0]!.end('end');
    expect(await body).toEqual({ body: Buffer.from('start;end'), complete: true });
    await closing;
    expect((await recorded.handles[0]!.done).error).toBeUndefined();
    // The owned dispatcher is closed: the keep-alive connection the transfer left in its pool is gone.
    await waitForConnections(origin, 0);
    expect(proxy.handoff.proxy.close()).toBe(proxy.handoff.proxy.close());
  });

  it('aborts transfers still running at the deadline, visibly', async () => {
    const recorded = recordingRoute(`${origin.url}/hold`, { mode });
    proxy = await gateway(recorded.route);
    const { res } = await openResponse(proxy.url);
    const body = readBody(res);
    await proxy.handoff.close({ timeout: 50 });
    const { complete } = await body;
    expect(complete).toBe(false);
    const outcome = await recorded.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_SHUTDOWN');
    expect(proxy.handoff.proxy.stats).toMatchObject({ inFlight: 0, queued: 0, closing: true });
    await waitForConnections(origin, 0);
  });

  it('answers 503 for a transfer still waiting for upstream headers at the deadline', async () => {
    const silent = await upstream(() => {});
    try {
      const recorded = recordingRoute(`${silent.url}/`, { mode });
      proxy = await gateway(recorded.route);
      const reply = request(proxy.url);
      await until(() => proxy.handoff.proxy.stats.inFlight === 1, 'in flight');
      await proxy.handoff.close({ timeout: 20 });
      expect((await reply).status).toBe(503);
    } finally {
      await silent.close();
    }
  });
});
