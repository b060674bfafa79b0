// queue.enqueue() and the dead-letter calls used directly: bad input is refused before it
// reaches the store (and a batch shared with others), a repeated key is checked like a
// client's, and nothing touches the store once close() was called.
import { ProxyError } from '@handoff/core';
import { createQueue, type HandoffQueue, type QueueEvent } from '@handoff/queue';
import { request } from '../helpers/client';
import { closedPort } from '../helpers/servers';
import { until } from '../helpers/wait';
import { STORES, describePostgres, laterApp, receiver, type Receiver, type StoreFixture } from './helpers';

describe.each(STORES)('queue.enqueue() and the dead letters on the %s store', (_name, makeStore) => {
  let store: StoreFixture;
  let target: Receiver;
  let queue: HandoffQueue;
  const events: QueueEvent[] = [];

  beforeAll(async () => {
    store = makeStore();
    target = await receiver((d) => (d.path.startsWith('/dead') ? 404 : 200));
    // One connection: concurrent enqueues share a batch (group commit) on either store.
    queue = createQueue({ pollInterval: 20, poolSize: 1, ...store.options, onEvent: (e) => events.push(e) });
    await queue.start();
  }, 60_000);

  afterAll(async () => {
    await queue?.close({ timeout: 1_000 });
    await target?.close();
    await store?.drop();
  });

  it('refuses a bad Idempotency-Key up front, and the enqueues sharing its batch are stored', async () => {
    const calls = Array.from({ length: 11 }, (_, i) => queue.enqueue({ url: `${target.url}/batch/${i}`, body: 'x', ...(i === 5 ? { idempotencyKey: 'a\u0000b' } : {}) }));
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual([...Array(5).fill('fulfilled'), 'rejected', ...Array(5).fill('fulfilled')]);
    expect((settled[5] as PromiseRejectedResult).reason).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'idempotencyKey' });
  });

  it('H36: the same key with another method, target or body rejects with HANDOFF_IDEMPOTENCY_MISMATCH; the same request gets the first id', async () => {
    const key = `direct-${Date.now()}`;
    const first = await queue.enqueue({ url: `${target.url}/same`, body: 'one', idempotencyKey: key });
    await expect(queue.enqueue({ url: `${target.url}/same`, body: 'one', idempotencyKey: key })).resolves.toEqual({ id: first.id, created: false });
    for (const other of [{ body: 'two' }, { method: 'PUT', body: 'one' }, { url: `${target.url}/other`, body: 'one' }]) {
      const err = await queue.enqueue({ url: `${target.url}/same`, idempotencyKey: key, ...other }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect(err).toMatchObject({ code: 'HANDOFF_IDEMPOTENCY_MISMATCH', status: 422 });
    }
  });

  it('sends a caller-supplied Idempotency-Key header (any case) once, as the job key', async () => {
    const key = `mine-${Date.now()}`;
    const { id } = await queue.enqueue({ url: `${target.url}/own-key`, body: 'x', headers: { 'Idempotency-KEY': key } });
    await until(() => target.counts.has(key), 'the delivery');
    const delivery = target.deliveries.find((d) => d.path === '/own-key')!;
    expect(delivery.headers['idempotency-key']).toBe(key);
    expect(id).not.toBe(key);
  });

  it("refuses dead-letter calls without 'all' or ids, and ids that are not UUIDs, deleting nothing", async () => {
    await queue.enqueue({ url: `${target.url}/dead/1`, body: 'x' });
    await queue.enqueue({ url: `${target.url}/dead/2`, body: 'x' });
    await until(async () => (await queue.deadLetters()).length === 2, 'two dead letters');
    const call = queue as unknown as Record<'purgeDeadLetters' | 'retryDeadLetters' | 'deadLetters', (arg: unknown) => Promise<unknown>>;
    for (const arg of [undefined, null, 'ALL']) {
      await expect(call.purgeDeadLetters(arg)).rejects.toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'ids' });
      await expect(call.retryDeadLetters(arg)).rejects.toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'ids' });
    }
    await expect(queue.retryDeadLetters(['not-a-uuid'])).rejects.toThrow('retryDeadLetters(): "not-a-uuid" is not a job id (a UUID)');
    await expect(call.deadLetters(-1)).rejects.toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option: 'limit' });
    expect(await queue.deadLetters()).toHaveLength(2);
    expect(await queue.retryDeadLetters(['00000000-0000-4000-8000-000000000000'])).toEqual([]);
    expect(await queue.purgeDeadLetters('all')).toHaveLength(2);
  });

  it('after close(), rejects enqueue() and the dead-letter calls with HANDOFF_CLOSED, and reports no outage', async () => {
    // The last test of the suite: its queue is closed here.
    await queue.close({ timeout: 1_000 });
    const before = events.length;
    for (const call of [() => queue.enqueue({ url: `${target.url}/late`, body: 'x' }), () => queue.deadLetters(), () => queue.purgeDeadLetters('all'), () => queue.depth()]) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ProxyError);
      expect(err).toMatchObject({ code: 'HANDOFF_CLOSED' });
    }
    expect(events.slice(before).filter((e) => e.type === 'storeDown')).toEqual([]);
  });
});

describe.each(STORES)('the accepted answer on the %s store', (_name, makeStore) => {
  it('answers 204 without a body or Content-Length when accepted.status is 204, and stores the job', async () => {
    const store = makeStore();
    const target = await receiver();
    const app = await laterApp(store, target.url, { accepted: { status: 204 } });
    try {
      const reply = await request(app.url, { method: 'POST', path: '/no-content', body: 'x' });
      expect(reply.status).toBe(204);
      expect(reply.headers['content-length']).toBeUndefined();
      expect(reply.headers['content-type']).toBeUndefined();
      expect(reply.body.length).toBe(0);
      await until(() => target.deliveries.some((d) => d.path === '/no-content'), 'the delivery');
    } finally {
      await app.close();
      await target.close();
      await store.drop();
    }
  }, 30_000);
});

describePostgres('queue.enqueue() with PostgreSQL unreachable from the start', () => {
  it('rejects with HANDOFF_STORE_UNAVAILABLE (a ProxyError) and reports storeDown once', async () => {
    const port = await closedPort();
    const events: QueueEvent[] = [];
    const queue = createQueue({ database: `postgres://postgres@127.0.0.1:${port}/test`, deliver: false, storeTimeout: 1_000, onEvent: (e) => events.push(e) });
    try {
      for (let i = 0; i < 2; i++) {
        const err = await queue.enqueue({ url: 'http://127.0.0.1:1/x', body: 'x' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProxyError);
        expect(err).toMatchObject({ code: 'HANDOFF_STORE_UNAVAILABLE', status: 503 });
      }
      expect(events.filter((e) => e.type === 'storeDown')).toHaveLength(1);
    } finally {
      await queue.close({ timeout: 0 });
    }
  });
});
