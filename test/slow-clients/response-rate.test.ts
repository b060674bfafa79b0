// RELIABILITY K45, the download side: a client that reads slower than minDataRate.response is
// cut (Kestrel's MinResponseDataRate), counting only the time the proxy waits for it; and a
// slow reader does not hold a slot once the upstream response has ended.
import http from 'node:http';
import { openResponse, readBody } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { MODES } from '../helpers/modes';
import { until } from '../helpers/wait';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';

const BIG = Buffer.alloc(8 * 1024 * 1024, 'd');

describe.each(MODES)('the minimum response rate (%s mode)', (mode) => {
  let origin: Running;
  let proxy: EngineGateway;
  let upstreamClosed: string[];

  beforeAll(async () => {
    origin = await upstream((req, res) => {
      res.on('close', () => upstreamClosed.push(req.url!));
      if (req.url === '/trickle') {
        // The upstream is the slow side: a chunk every 150 ms.
        res.writeHead(200, { 'content-type': 'text/plain' });
        let sent = 0;
        const timer = setInterval(() => {
          res.write('t'.repeat(100));
          if (++sent === 6) {
            clearInterval(timer);
            res.end();
          }
        }, 150);
        return;
      }
      res.writeHead(200, { 'content-length': BIG.length });
      res.end(BIG);
    });
  });

  beforeEach(() => (upstreamClosed = []));
  afterEach(() => proxy.close());
  afterAll(() => origin.close());

  it('cuts a client that stops reading, once it owes more than the rate allows, and aborts the upstream', async () => {
    proxy = await passThrough(origin.url, { minDataRate: { response: 1_000_000, grace: 200 }, bodyTimeout: 0 }, { mode });
    const { res } = await openResponse(`${proxy.url}/big`);
    res.pause();
    const outcome = await proxy.handles[0]!.done;
    expect(outcome.error!.code).toBe('HANDOFF_RESPONSE_TOO_SLOW');
    expect(outcome.error!.message).toMatch(/Client read too slowly \(\d+ bytes waiting for \d+ ms; minDataRate\.response: 1000000 bytes\/s after 200 ms\)/);
    expect(outcome.bytes).toBeLessThan(BIG.length);
    res.resume();
    expect((await readBody(res)).complete).toBe(false);
    await until(() => upstreamClosed.includes('/big'), 'upstream aborted');
  });

  it('never cuts a client that keeps up', async () => {
    proxy = await passThrough(origin.url, { minDataRate: { response: 1_000_000, grace: 200 } }, { mode });
    const { res } = await openResponse(`${proxy.url}/big`);
    const { body, complete } = await readBody(res);
    expect(complete).toBe(true);
    expect(body.length).toBe(BIG.length);
    expect((await proxy.handles[0]!.done).error).toBeUndefined();
  });

  it('does not count time spent waiting for a slow upstream', async () => {
    proxy = await passThrough(origin.url, { minDataRate: { response: 1_000_000, grace: 50 } }, { mode });
    const { res } = await openResponse(`${proxy.url}/trickle`);
    const { body, complete } = await readBody(res);
    expect([complete, body.length]).toEqual([true, 600]);
    expect((await proxy.handles[0]!.done).error).toBeUndefined();
  });
});

describe('a slow reader and the concurrency gate', () => {
  it('gives the slot back once the upstream response has ended, though the client has not read it', async () => {
    const small = Buffer.alloc(8 * 1024, 's');
    const origin = await upstream((_req, res) => res.writeHead(200, { 'content-length': small.length }).end(small));
    let proxy: EngineGateway | undefined;
    const clients: http.ClientRequest[] = [];
    try {
      proxy = await passThrough(origin.url, { concurrency: 1, maxQueue: 0 });
      // Three clients that read nothing: each response fits in the proxy's and the OS's buffers.
      for (let i = 0; i < 3; i++) {
        const { res, req } = await openResponse(`${proxy.url}/s${i}`);
        res.pause();
        clients.push(req);
        await until(() => proxy!.proxy.stats.inFlight === 0, `slot ${i} released`);
      }
      const outcomes = await Promise.all(proxy.handles.map((h) => h.done));
      // maxQueue 0: had a slot still been held, the next request would have been refused with 503.
      expect(outcomes.map((o) => [o.status, o.error?.code])).toEqual([
        [200, undefined],
        [200, undefined],
        [200, undefined],
      ]);
    } finally {
      for (const req of clients) req.destroy();
      await proxy?.close();
      await origin.close();
    }
  });
});
