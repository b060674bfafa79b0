import http from 'node:http';
import { openResponse, request } from './helpers/client';
import { walkAway } from './faults/clients';
import { ADAPTER_MODES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe.each(ADAPTER_MODES)('the client leaving early (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  let origin: Running;
  let gw: EngineGateway;
  let upstreamRequests: http.IncomingMessage[];
  let upstreamClosed: number;
  let held: http.ServerResponse[];

  beforeEach(async () => {
    upstreamRequests = [];
    upstreamClosed = 0;
    held = [];
    origin = await upstream((req, res) => {
      upstreamRequests.push(req);
      res.on('close', () => upstreamClosed++);
      if (req.url === '/silent') return held.push(res);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024, 1));
      if (req.url === '/hold') return held.push(res);
      res.end();
    });
  });

  afterEach(async () => {
    for (const res of held) res.destroy();
    await gw.close();
    await origin.close();
  });

  const stats = () => gw.proxy.stats;

  it('while waiting for upstream headers: aborts the upstream request and frees the slot', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/silent`, { mode }));

    await walkAway(gw.url, 'before-headers', () => upstreamRequests.length === 1);
    expect(upstreamRequests).toHaveLength(1);
    await until(() => upstreamClosed === 1, 'upstream request aborted');
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    expect(outcome.status).toBe(0);
    await until(() => stats().inFlight === 0 && stats().upstreamSockets === 0, 'slot and socket released');
  });

  it('mid-body: destroys the upstream socket instead of pooling it half-read, and frees the slot', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/hold`, { mode }));
    const { res } = await openResponse(gw.url);
    expect(res.statusCode).toBe(200);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    await until(() => upstreamClosed === 1, 'upstream response closed');
    const outcome = await gw.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    expect(outcome.status).toBe(200);
    await until(() => stats().inFlight === 0 && stats().upstreamSockets === 0, 'slot and socket released');
  });

  it('while queued: removes the queued entry and never contacts the upstream for it', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}${path}`, { mode }), { concurrency: 1, maxQueue: 5 });
    const first = await openResponse(`${gw.url}/hold`);
    await walkAway(`${gw.url}/quick`, 'queued', () => stats().queued === 1);
    await until(() => stats().queued === 0, 'queued entry removed');
    expect(stats().inFlight).toBe(1);
    const outcome = await gw.handles[1]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_CLIENT_ABORTED');

    // The slot is still usable: finish the first transfer, then a new request goes through.
    held[0]!.end();
    first.res.resume();
    await gw.handles[0]!.done;
    const third = await request(`${gw.url}/quick`);
    expect(third.status).toBe(200);
    expect(upstreamRequests.map((r) => r.url)).toEqual(['/hold', '/quick']);
    await until(() => stats().inFlight === 0 && stats().queued === 0, 'gate idle');
  });
});
