import { randomBytes } from 'node:crypto';
import { openResponse, request } from './helpers/client';
import { ADAPTER_MODES, gatewayFor } from './helpers/adapters';
import type { EngineGateway } from './helpers/engine-gateway';
import { upstream, type Running } from './helpers/servers';
import { until } from './helpers/wait';

describe.each(ADAPTER_MODES)('bandwidth throttling (%s, %s mode)', (adapter, mode) => {
  const engineGateway = gatewayFor(adapter);
  const data = randomBytes(60 * 1024);
  let origin: Running;
  let gw: EngineGateway;

  beforeEach(async () => {
    origin = await upstream((_req, res) => res.end(data));
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
  });

  it('delivers every byte no faster than rateLimit (a lower bound only: slowness never fails it)', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/file`, { mode, rateLimit: 40 * 1024 }));
    const started = performance.now();
    const reply = await request(gw.url);
    const elapsed = performance.now() - started;
    expect(reply.body.equals(data)).toBe(true);
    // 60 KiB at 40 KiB/s with at most one second of burst: at least 0.5 s.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect((await gw.handles[0]!.done).bytes).toBe(data.length);
  });

  it('takes the rate from the handoff() defaults, and a call can lift it with rateLimit: 0', async () => {
    gw = await engineGateway(({ fetch, path }) => fetch(`${origin.url}/file`, { mode, ...(path === '/free' ? { rateLimit: 0 } : {}) }), {
      rateLimit: 40 * 1024,
    });
    let started = performance.now();
    expect((await request(gw.url, { path: '/limited' })).body.equals(data)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    expect((await request(gw.url, { path: '/free' })).body.equals(data)).toBe(true);
  });

  it('stops its timers when the client leaves mid-transfer', async () => {
    gw = await engineGateway(({ fetch }) => fetch(`${origin.url}/file`, { mode, rateLimit: 10 * 1024 }));
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const { res } = await openResponse(gw.url);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    expect((await gw.handles[0]!.done).error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    expect(gw.proxy.stats.inFlight).toBe(0);
    // stream-throttle alone would keep slicing the 60 KiB chunk for ~6 s; ours stops within one slice.
    await until(() => timers() <= before, 'the throttle timers to stop', { timeout: 1_000, every: 20 });
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
