import type http from 'node:http';
import { openResponse, readBody, request } from './helpers/client';
import { engineGateway, type EngineGateway } from './helpers/engine-gateway';
import { MODES } from './helpers/modes';
import { upstream, waitForConnections, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe.each(MODES)('close({ timeout }) (%s mode)', (mode) => {
  let origin: Running;
  let gw: EngineGateway;
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
    await gw.close();
    await origin.close();
  });

  it('refuses new work with 503, lets in-flight transfers finish, then closes the owned dispatcher', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }), { concurrency: 1 });
    const inflight = await openResponse(`${gw.url}/hold`);
    const body = readBody(inflight.res);
    const queued = request(`${gw.url}/quick`);
    await until(() => gw.proxy.stats.queued === 1, 'one queued');

    let closed = false;
    const closing = gw.proxy.close({ timeout: 10_000 }).then(() => (closed = true));
    const queuedReply = await queued;
    expect(queuedReply.status).toBe(503);
    expect(queuedReply.headers['retry-after']).toBe('1');
    const refused = await request(`${gw.url}/quick`);
    expect(refused.status).toBe(503);
    expect((await gw.handles[2]!.done).error!.code).toBe('HANDOFF_CLOSED');
    expect(closed).toBe(false);

    held[0]!.end('end');
    expect(await body).toEqual({ body: Buffer.from('start;end'), complete: true });
    await closing;
    expect((await gw.handles[0]!.done).error).toBeUndefined();
    // The owned dispatcher is closed: the keep-alive connection the transfer left in its pool is gone.
    await waitForConnections(origin, 0);
    expect(gw.proxy.close()).toBe(gw.proxy.close());
  });

  it('aborts transfers still running at the deadline, visibly', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/hold`, { mode }));
    const { res } = await openResponse(gw.url);
    const body = readBody(res);
    await gw.proxy.close({ timeout: 50 });
    const { complete } = await body;
    expect(complete).toBe(false);
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_SHUTDOWN');
    expect(gw.proxy.stats).toMatchObject({ inFlight: 0, queued: 0, closing: true });
    await waitForConnections(origin, 0);
  });

  it('answers 503 for a transfer still waiting for upstream headers at the deadline', async () => {
    const silent = await upstream(() => {});
    try {
      gw = await engineGateway(({ fetch }) => fetch(`${silent.url}/`, { mode }));
      const reply = request(gw.url);
      await until(() => gw.proxy.stats.inFlight === 1, 'in flight');
      await gw.proxy.close({ timeout: 20 });
      expect((await reply).status).toBe(503);
    } finally {
      await silent.close();
    }
  });
});
