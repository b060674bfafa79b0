import { randomBytes } from 'node:crypto';
import type { ProxyMode } from '@handoff/koa';
import { openResponse, request } from './helpers/client';
import { recordingRoute } from './helpers/handles';
import { gateway, upstream, type Gateway, type Running } from './helpers/servers';

const MODES: ProxyMode[] = ['response', 'socket'];

describe.each(MODES)('bandwidth throttling (%s mode)', (mode) => {
  const data = randomBytes(60 * 1024);
  let origin: Running;
  let proxy: Gateway;

  beforeEach(async () => {
    origin = await upstream((_req, res) => res.end(data));
  });

  afterEach(async () => {
    await proxy.close();
    await origin.close();
  });

  it('delivers every byte no faster than rateLimit (a lower bound only: slowness never fails it)', async () => {
    const recorded = recordingRoute(`${origin.url}/file`, { mode, rateLimit: 40 * 1024 });
    proxy = await gateway(recorded.route);
    const started = performance.now();
    const reply = await request(proxy.url);
    const elapsed = performance.now() - started;
    expect(reply.body.equals(data)).toBe(true);
    // 60 KiB at 40 KiB/s with at most one second of burst: at least 0.5 s.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect((await recorded.handles[0]!.done).bytes).toBe(data.length);
  });

  it('takes the rate from the handoff() defaults, and a call can lift it with rateLimit: 0', async () => {
    const recorded = recordingRoute(`${origin.url}/file`, (ctx) => ({ mode, ...(ctx.path === '/free' ? { rateLimit: 0 } : {}) }));
    proxy = await gateway(recorded.route, { rateLimit: 40 * 1024 });
    let started = performance.now();
    expect((await request(proxy.url, { path: '/limited' })).body.equals(data)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    expect((await request(proxy.url, { path: '/free' })).body.equals(data)).toBe(true);
  });

  it('stops its timers when the client leaves mid-transfer', async () => {
    const recorded = recordingRoute(`${origin.url}/file`, { mode, rateLimit: 10 * 1024 });
    proxy = await gateway(recorded.route);
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const { res } = await openResponse(proxy.url);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();
    expect((await recorded.handles[0]!.done).error!.code).toBe('HANDOFF_CLIENT_ABORTED');
    expect(proxy.handoff.proxy.stats.inFlight).toBe(0);
    // stream-throttle alone would keep slicing the 60 KiB chunk for ~6 s; ours stops within one slice.
    const deadline = performance.now() + 1_000;
    while (timers() > before && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
