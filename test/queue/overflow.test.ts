// overflow: 'queue': a call proxies at once while the gate has room, and is stored for later
// (202) instead of the HANDOFF_QUEUE_FULL 503 once the gate and its wait queue are full.
import { createProxy } from '@handoff/core';
import { createQueue, type HandoffQueue } from '@handoff/queue';
import { request } from '../helpers/client';
import { engineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { STORES, type StoreFixture } from './helpers';

describe.each(STORES)('overflow to the queue, %s store', (_name, makeStore) => {
  let store: StoreFixture;
  let queue: HandoffQueue;
  let origin: Running;
  let gateway: EngineGateway;
  const held: Array<() => void> = [];
  const seen: Array<{ path: string; key: string | undefined; body: string }> = [];

  beforeAll(async () => {
    store = makeStore();
    queue = createQueue({ ...store.options, pollInterval: 20 });
    await queue.start();
    origin = await upstream((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ path: req.url!, key: req.headers['idempotency-key'] as string | undefined, body });
        if (req.url === '/hold') held.push(() => res.end('held'));
        else res.end(`ok ${req.url}`);
      });
    });
    gateway = await engineGateway(
      ({ fetch, url, method }) => fetch(`${origin.url}${url}`, { method, body: 'request', overflow: url.startsWith('/fire') ? 'queue' : false }),
      { concurrency: 1, maxQueue: 0, queue },
    );
  }, 60_000);

  afterAll(async () => {
    for (const release of held.splice(0)) release();
    await gateway?.close();
    await queue?.close({ timeout: 1_000 });
    await origin?.close();
    await store?.drop();
  });

  it('proxies while the gate has room, then stores fire-and-forget calls (202) and still answers 503 to the others', async () => {
    const direct = await request(gateway.url, { method: 'POST', path: '/fire/now', body: 'a' });
    expect(direct.status).toBe(200);
    expect(direct.body.toString()).toBe('ok /fire/now');

    const holding = request(gateway.url, { path: '/hold' });
    await until(() => held.length === 1, 'the origin to hold the slot');
    const queued = await request(gateway.url, { method: 'POST', path: '/fire/later', body: 'payload' });
    expect(queued.status).toBe(202);
    const { id } = JSON.parse(queued.body.toString()) as { id: string };
    const refused = await request(gateway.url, { method: 'POST', path: '/sync', body: 'b' });
    expect(refused.status).toBe(503);
    expect(gateway.errors.map((e) => (e as { code?: string }).code)).toContain('HANDOFF_QUEUE_FULL');

    await until(() => seen.some((s) => s.key === id), 'the stored call to be delivered');
    expect(seen.find((s) => s.key === id)).toEqual({ path: '/fire/later', key: id, body: 'payload' });
    const outcome = await gateway.handles[2]!.done;
    expect(outcome).toMatchObject({ status: 202, jobId: id });
    held.shift()!();
    expect((await holding).status).toBe(200);
  });
});

describe('overflow option validation', () => {
  it("refuses overflow: 'queue' on a proxy without a queue, and a queue that is not one", () => {
    const proxy = createProxy();
    const req = { headers: {}, httpVersionMajor: 1, socket: {} } as never;
    const res = { headersSent: false } as never;
    expect(() => proxy.fetch(req, res, 'http://127.0.0.1:1/', { overflow: 'queue' })).toThrow(/overflow: 'queue' needs a queue configured on the proxy/);
    expect(() => proxy.later(req, res, 'http://127.0.0.1:1/')).toThrow(/proxy.later\(\) needs a queue/);
    expect(() => createProxy({ queue: {} as never })).toThrow(/queue must be a request queue/);
    void proxy.close({ timeout: 0 });
  });
});
