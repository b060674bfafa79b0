// The shared gate's leases and queue, driven directly: arrival order across instances, a
// waiter leaving while its admission is on its way, renewal, the local queue bounds, close.
import { Redis } from 'ioredis';
import { ProxyError } from '@handoff/core';
import type { Waiter } from '../../packages/core/src/gate/admission';
import { resolveGateOptions } from '../../packages/core/src/gate/options';
import { SharedGate } from '../../packages/core/src/gate/shared-gate';
import { until } from '../helpers/wait';
import { REDIS_URL, gateKeys, removeGateKeys, uniqueKey } from './helpers';

if (!REDIS_URL) console.log('REDIS_URL is not set: skipping the shared gate lease suite (CI sets it).');
const describeRedis = REDIS_URL ? describe : describe.skip;

interface TestWaiter extends Waiter {
  admitted: boolean;
  rejected: ProxyError | undefined;
}

function waiter(name: string, onAdmit: (name: string) => void = () => {}): TestWaiter {
  const w: TestWaiter = {
    admitted: false,
    rejected: undefined,
    admit: () => {
      w.admitted = true;
      onAdmit(name);
    },
    reject: (err) => (w.rejected = err),
    describe: () => `GET /${name}`,
  };
  return w;
}

describeRedis('shared gate leases in Redis', () => {
  let redis: Redis;
  let key: string;
  let gates: SharedGate[];

  beforeAll(() => {
    redis = new Redis(REDIS_URL!);
  });

  beforeEach(() => {
    key = uniqueKey();
    gates = [];
  });

  afterEach(async () => {
    await Promise.all(gates.map((g) => g.close()));
    await removeGateKeys(redis, key);
  });

  afterAll(async () => {
    await redis.quit();
  });

  const gate = async (concurrency: number, { maxQueue = 10, queueTimeout = 0, leaseTtl = 10_000 } = {}) => {
    const g = new SharedGate(concurrency, maxQueue, queueTimeout, resolveGateOptions({ redis: REDIS_URL!, key, leaseTtl })!);
    gates.push(g);
    await until(() => g.stats.redisUp, 'the gate connected');
    return g;
  };
  const queueLength = () => redis.zcard(gateKeys(key).queue);
  const holders = () => redis.zcard(gateKeys(key).holders);

  it('admits the waiters of two instances in their order of arrival across both', async () => {
    const [a, b] = [await gate(1), await gate(1)];
    const holder = waiter('holder');
    expect(a.enter(holder)).toBe(false);
    await until(() => holder.admitted, 'the holder admitted');
    const order: string[] = [];
    const sides = new Map<string, SharedGate>();
    const entries: [string, SharedGate][] = [['w1', a], ['w2', b], ['w3', a], ['w4', b]];
    for (const [name, side] of entries) {
      sides.set(name, side);
      side.enter(waiter(name, (admitted) => order.push(admitted)));
      // Its ticket is in Redis before the next one arrives: that is the arrival order.
      await until(async () => (await queueLength()) === order.length + sides.size, `${name} queued in Redis`, { every: 5 });
    }
    a.release();
    for (let i = 0; i < entries.length; i++) {
      await until(() => order.length === i + 1, `admission ${i + 1}`, { every: 5 });
      sides.get(order[i]!)!.release();
    }
    expect(order).toEqual(['w1', 'w2', 'w3', 'w4']);
    await until(async () => (await holders()) === 0, 'every lease given back', { every: 5 });
    expect(a.inFlight + b.inFlight).toBe(0);
  });

  it('gives back the lease of a waiter that left while its admission was on its way', async () => {
    const g = await gate(1);
    const w = waiter('leaving');
    g.enter(w);
    // The acquire goes out in a microtask; leave once it is sent, before Redis has answered.
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(g.leave(w)).toBe(true);
    await until(async () => Number(await redis.get(gateKeys(key).seq)) === 1, 'the ticket having reached Redis', { every: 5 });
    await until(async () => (await holders()) === 0 && (await queueLength()) === 0, 'the late lease given back', { every: 5 });
    expect(w.admitted).toBe(false);
    expect(g.inFlight).toBe(0);
    // The slot is free for the next one.
    const next = waiter('next');
    g.enter(next);
    await until(() => next.admitted, 'the next waiter admitted');
    g.release();
  });

  it('renews a held lease, and takes one found gone again, counting it as expired', async () => {
    const g = await gate(1, { leaseTtl: 1_000 });
    const w = waiter('held');
    g.enter(w);
    await until(() => w.admitted, 'admitted');
    const [id, first] = await redis.zrange(gateKeys(key).holders, 0, -1, 'WITHSCORES');
    await until(async () => Number(await redis.zscore(gateKeys(key).holders, id!)) > Number(first), 'the lease renewed', { every: 20 });
    expect(g.stats).toMatchObject({ leasesHeld: 1, leasesExpired: 0 });
    await redis.zrem(gateKeys(key).holders, id!);
    await until(() => g.stats.leasesExpired === 1, 'the lost lease counted', { every: 20 });
    expect(await redis.zscore(gateKeys(key).holders, id!)).not.toBeNull();
    g.release();
    await until(async () => (await holders()) === 0, 'the lease given back', { every: 5 });
  });

  it('bounds the local queue (QUEUE_FULL) and the wait (QUEUE_TIMEOUT), withdrawing their tickets', async () => {
    const g = await gate(1, { maxQueue: 1, queueTimeout: 300 });
    const holder = waiter('holder');
    g.enter(holder);
    await until(() => holder.admitted, 'admitted');
    const [queued, over] = [waiter('queued'), waiter('over')];
    g.enter(queued);
    await until(async () => (await queueLength()) === 1, 'one ticket in Redis', { every: 5 });
    g.enter(over);
    await until(() => over.rejected !== undefined, 'the second waiter refused');
    expect(over.rejected).toMatchObject({ code: 'HANDOFF_QUEUE_FULL', status: 503 });
    await until(() => queued.rejected !== undefined, 'the first waiter timed out', { timeout: 5_000 });
    expect(queued.rejected).toMatchObject({ code: 'HANDOFF_QUEUE_TIMEOUT' });
    await until(async () => (await queueLength()) === 0, 'the tickets withdrawn', { every: 5 });
    expect(g.queued).toBe(0);
    g.release();
  });

  it('rejects waiters with rejectAll and gives back leases still held on close', async () => {
    const g = await gate(1);
    const [holder, queued] = [waiter('holder'), waiter('queued')];
    g.enter(holder);
    await until(() => holder.admitted, 'admitted');
    g.enter(queued);
    await until(async () => (await queueLength()) === 1, 'a ticket in Redis', { every: 5 });
    g.rejectAll(() => new ProxyError('HANDOFF_CLOSED', 'closing'));
    expect(queued.rejected?.code).toBe('HANDOFF_CLOSED');
    await g.close();
    gates = [];
    expect(await holders()).toBe(0);
    expect(await queueLength()).toBe(0);
  });

  it("uses a caller's ioredis client as it is and leaves it open on close", async () => {
    const client = new Redis(REDIS_URL!);
    try {
      const g = new SharedGate(1, 10, 0, resolveGateOptions({ redis: client, key })!);
      await until(() => g.stats.redisUp, 'the gate on the caller\'s client');
      const w = waiter('own-client');
      g.enter(w);
      await until(() => w.admitted, 'admitted');
      expect(await holders()).toBe(1);
      g.release();
      await g.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      expect(await holders()).toBe(0);
    } finally {
      await client.quit();
    }
  });
});
