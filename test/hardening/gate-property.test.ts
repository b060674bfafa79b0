// RELIABILITY.md F29: the gate under random interleavings ends idle and never exceeds its bound.
import http from 'node:http';
import fc from 'fast-check';
import { engineGateway } from '../helpers/engine-gateway';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';

type Scenario = 'ok' | 'timeout' | 'reset' | 'abort-before-headers' | 'abort-mid-body' | 'hook-throws';
const SCENARIOS: Scenario[] = ['ok', 'timeout', 'reset', 'abort-before-headers', 'abort-mid-body', 'hook-throws'];

describe('the concurrency gate under random interleavings (fast-check)', () => {
  let origin: Running;
  const held = new Set<http.ServerResponse>();

  beforeAll(async () => {
    origin = await upstream((req, res) => {
      const scenario = req.url!.slice(1).split('?')[0] as Scenario;
      if (scenario === 'reset') return req.socket.destroy();
      if (scenario === 'timeout' || scenario === 'abort-before-headers') return void held.add(res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      if (scenario === 'abort-mid-body') {
        res.write('partial');
        return void held.add(res);
      }
      setImmediate(() => res.end('ok'));
    });
  });

  afterAll(() => origin.close());

  it('always ends with nothing in flight or queued, and never more than `concurrency` in flight', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.tuple(fc.constantFrom(...SCENARIOS), fc.integer({ min: 0, max: 15 })), { minLength: 1, maxLength: 10 }),
        async (concurrency, maxQueue, requests) => {
          const gw = await engineGateway(
            ({ fetch, path }) =>
              fetch(`${origin.url}${path}`, {
                headersTimeout: 80,
                onHeaders: path === '/hook-throws' ? () => { throw new Error('hook'); } : undefined,
              }),
            { concurrency, maxQueue, queueTimeout: 150 },
          );
          const stats = () => gw.proxy.stats;
          let peak = 0;
          const sampler = setInterval(() => (peak = Math.max(peak, stats().inFlight)), 1);
          try {
            await Promise.all(requests.map(([scenario, delay]) => drive(gw.url, scenario, delay, () => (peak = Math.max(peak, stats().inFlight)))));
            await until(() => stats().inFlight === 0 && stats().queued === 0, 'gate idle');
            expect(peak).toBeLessThanOrEqual(concurrency);
            expect(stats().inFlight).toBe(0);
          } finally {
            clearInterval(sampler);
            for (const res of held) res.destroy();
            held.clear();
            await gw.close();
          }
        },
      ),
      { numRuns: 40, interruptAfterTimeLimit: 60_000 },
    );
  }, 90_000);
});

/** One client following its scenario; resolves when it is finished with the proxy. */
function drive(base: string, scenario: Scenario, delay: number, sample: () => void): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(`${base}/${scenario}`, { agent: false }, (res) => {
      sample();
      if (scenario === 'abort-mid-body') {
        res.once('data', () => req.destroy());
      } else {
        res.resume();
      }
      res.on('close', resolve);
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    if (scenario === 'abort-before-headers') setTimeout(() => req.destroy(), delay);
  });
}
