// A bounded soak on loopback: thousands of proxied requests mixing normal, aborted, timed-out and
// failing upstreams; afterwards nothing is in flight and no sockets, timers or memory have leaked.
import http from 'node:http';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { gc } from '../helpers/memory';
import { closedPort, upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';

const REQUESTS = 3_000;
const CLIENTS = 40;
const TIME_LIMIT_MS = 60_000;

type Kind = 'ok' | 'big' | 'abort' | 'timeout' | 'reset' | 'refused';
const pick = (i: number): Kind => (['ok', 'ok', 'ok', 'big', 'ok', 'abort', 'ok', 'timeout', 'reset', 'refused'] as const)[i % 10]!;

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('soak', () => {
  let origin: Running;
  let gw: EngineGateway;
  let refusedPort: number;
  const held = new Set<http.ServerResponse>();

  beforeAll(async () => {
    origin = await upstream((req, res) => {
      const kind = req.url!.slice(1) as Kind;
      if (kind === 'reset') return req.socket.destroy();
      if (kind === 'timeout') return void held.add(res);
      const body = Buffer.alloc(kind === 'ok' ? 512 : 256 * 1024, 'z');
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    refusedPort = await closedPort();
    gw = await engineGateway(
      ({ fetch, path, query }) => {
        const kind = path.slice(1);
        const base = kind === 'refused' ? `http://127.0.0.1:${refusedPort}` : origin.url;
        return fetch(`${base}/${kind}`, { headersTimeout: 50, mode: Number(query.n) % 2 ? 'socket' : 'response' });
      },
      { concurrency: 16, maxQueue: 64, queueTimeout: 2_000 },
    );
  });

  afterAll(async () => {
    for (const res of held) res.destroy();
    await gw.close();
    await origin.close();
  });

  async function run(count: number, deadline: number): Promise<Record<number, number>> {
    const statuses: Record<number, number> = {};
    let next = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const one = (i: number) =>
      new Promise<void>((resolve) => {
        const kind = pick(i);
        const req = http.get(`${gw.url}/${kind}?n=${i}`, { agent }, (res) => {
          statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
          if (kind === 'abort') res.once('data', () => req.destroy());
          else res.resume();
          res.on('close', resolve);
        });
        req.on('error', () => resolve());
      });
    const worker = async () => {
      while (next < count && Date.now() < deadline) await one(next++);
    };
    await Promise.all(Array.from({ length: CLIENTS }, worker));
    agent.destroy();
    return statuses;
  }

  it(`serves ${REQUESTS} mixed requests without leaking sockets, timers or memory`, async () => {
    const deadline = Date.now() + TIME_LIMIT_MS;
    await run(200, deadline);
    await until(() => gw.proxy.stats.inFlight === 0, 'warm-up drained');
    for (const res of held) res.destroy();
    held.clear();
    gw.errors.length = 0;
    gw.handles.length = 0;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const before = resources();

    const statuses = await run(REQUESTS, deadline);
    for (const res of held) res.destroy();
    held.clear();
    await until(() => gw.proxy.stats.inFlight === 0 && gw.proxy.stats.queued === 0, 'drained');

    // Every kind was exercised and answered the way it should be.
    expect(statuses[200]).toBeGreaterThan(REQUESTS / 2);
    expect(statuses[502]).toBeGreaterThan(0);
    expect(statuses[504]).toBeGreaterThan(0);

    // Upstream sockets: only keep-alive connections to the origin may stay pooled.
    await until(() => gw.proxy.stats.upstreamSockets <= 16, 'upstream sockets back to the pool bound');
    // Timers and sockets return to where they were (allowing for pooled keep-alive connections).
    await until(() => (resources().Timeout ?? 0) <= (before.Timeout ?? 0) + 2, 'timers released');
    await until(() => (resources().TCPSocketWrap ?? 0) <= (before.TCPSocketWrap ?? 0) + 16, 'sockets released');
    // The test's own record of emitted errors and handles is not the proxy's memory.
    expect(gw.errors.length).toBeGreaterThan(0);
    gw.errors.length = 0;
    gw.handles.length = 0;
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    expect(growth).toBeLessThan(8 * 1024 * 1024);
  }, TIME_LIMIT_MS + 30_000);
});
