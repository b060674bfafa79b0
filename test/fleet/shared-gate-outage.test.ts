// RELIABILITY M49: the shared gate with Redis gone mid-run (a relay cut) or never there (a
// closed port): 'open' serves against the local limit, 'closed' answers 503 with Retry-After;
// one error per outage; admissions go through Redis again once it is back.
import { Redis } from 'ioredis';
import type { ProxyError, ProxyOptions, SharedGateOptions } from '@handoff/core';
import { redisRelay, type RedisRelay } from '../cache/redis-relay';
import { request, type Reply } from '../helpers/client';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';
import { closedPort } from '../helpers/servers';
import { until } from '../helpers/wait';
import { REDIS_URL, countingOrigin, gateKeys, removeGateKeys, uniqueKey, type CountingOrigin } from './helpers';

if (!REDIS_URL) console.log('REDIS_URL is not set: skipping the shared gate outage suite (CI sets it).');
const describeRedis = REDIS_URL ? describe : describe.skip;

describeRedis('the shared gate when Redis is unreachable', () => {
  let redis: Redis;
  let relay: RedisRelay;
  let key: string;
  let origin: CountingOrigin;
  let gw: EngineGateway | undefined;
  let reported: ProxyError[];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL!);
    relay = await redisRelay(REDIS_URL!);
  });

  beforeEach(async () => {
    key = uniqueKey();
    reported = [];
    relay.restore();
    origin = await countingOrigin('hold');
  });

  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await origin.close();
    await removeGateKeys(redis, key);
  });

  afterAll(async () => {
    await relay.close();
    await redis.quit();
  });

  const gateway = (redisUrl: string, gate: Partial<SharedGateOptions>, options: ProxyOptions = {}) =>
    passThrough(origin.url, {
      concurrency: 2,
      maxQueue: 10,
      queueTimeout: 20_000,
      retryAfter: 3,
      ...options,
      gate: { redis: redisUrl, key, leaseTtl: 1_500, timeout: 200, onError: (err) => reported.push(err), ...gate },
    });
  const stats = () => gw!.proxy.stats;
  const get = (path: string) => request(`${gw!.url}${path}`);
  const relayUrl = () => `redis://127.0.0.1:${relay.port}`;

  it("'open': keeps serving against the local limit while Redis is cut, reports it once, and goes through Redis again once it is back", async () => {
    gw = await gateway(relayUrl(), { whenDown: 'open' });
    await until(() => stats().gate!.redisUp, 'the gate connected');
    const before = [get('/a'), get('/b'), get('/c')];
    await until(() => origin.active === 2 && stats().queued === 1, 'two transfers in, one waiting');
    expect(await redis.zcard(gateKeys(key).holders)).toBe(2);

    relay.cut();
    await until(() => reported.length === 1, 'the outage reported');
    expect(reported[0]).toMatchObject({ code: 'HANDOFF_GATE_UNAVAILABLE' });
    expect(reported[0]!.message).toMatch(/admitting against the local limit of 2/);
    // Two more while Redis is gone: still at most 2 at the origin, the rest wait in this instance.
    const during = [get('/d'), get('/e')];
    await until(() => stats().queued === 3, 'three waiting locally');
    expect(origin.active).toBe(2);
    origin.releaseAll();
    const served = await Promise.all([...before, ...during]);
    expect(served.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(origin.maxActive).toBe(2);
    expect((await Promise.all([get('/f'), get('/g')])).map((r) => r.status)).toEqual([200, 200]);
    expect(stats().gate).toMatchObject({ redisUp: false, redisOutages: 1 });

    const arrivals = Number(await redis.get(gateKeys(key).seq));
    relay.restore();
    await until(() => stats().gate!.redisUp, 'the gate back on Redis', { timeout: 15_000 });
    expect((await get('/h')).status).toBe(200);
    // The admission took a ticket in Redis again.
    expect(Number(await redis.get(gateKeys(key).seq))).toBeGreaterThan(arrivals);
    expect(reported).toHaveLength(1);
    expect(stats().gate).toMatchObject({ redisUp: true, redisOutages: 1 });
    await until(() => stats().inFlight === 0 && stats().queued === 0, 'gate idle');
  }, 40_000);

  it("'closed': answers 503 with Retry-After while Redis is cut (the waiting too), lets running transfers finish, and admits again once it is back", async () => {
    gw = await gateway(relayUrl(), { whenDown: 'closed' });
    await until(() => stats().gate!.redisUp, 'the gate connected');
    const running = [get('/a'), get('/b')];
    const waiting = get('/c');
    await until(() => origin.active === 2 && stats().queued === 1, 'two transfers in, one waiting');

    relay.cut();
    await until(() => reported.length === 1, 'the outage reported');
    expect(reported[0]!.message).toMatch(/answering 503 until it recovers/);
    const refusedWaiting = await waiting;
    const refused = await Promise.all([get('/d'), get('/e')]);
    for (const reply of [refusedWaiting, ...refused]) {
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('3');
    }
    expect((await gw.handles[2]!.done).error?.code).toBe('HANDOFF_GATE_UNAVAILABLE');
    origin.releaseAll();
    expect((await Promise.all(running)).map((r) => r.status)).toEqual([200, 200]);
    expect(reported).toHaveLength(1);

    relay.restore();
    await until(() => stats().gate!.redisUp, 'the gate back on Redis', { timeout: 15_000 });
    // The leases of the two transfers that ended during the outage could not be given back: they expire within the TTL.
    expect((await get('/f')).status).toBe(200);
    expect(reported).toHaveLength(1);
    expect(stats().gate).toMatchObject({ redisUp: true, redisOutages: 1 });
  }, 40_000);

  it("'closed' with Redis on a closed port: 503 with Retry-After, one error however many requests", async () => {
    gw = await gateway(`redis://127.0.0.1:${await closedPort()}`, { whenDown: 'closed' });
    const replies: Reply[] = [];
    for (let i = 0; i < 5; i++) replies.push(await get(`/r${i}`));
    for (const reply of replies) {
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('3');
    }
    expect(origin.served).toBe(0);
    expect(gw.handles.map((h) => h.outcome?.error?.code)).toEqual(Array(5).fill('HANDOFF_GATE_UNAVAILABLE'));
    expect(reported).toHaveLength(1);
    expect(stats().gate).toMatchObject({ redisUp: false, redisOutages: 1, leasesHeld: 0 });
  });

  it("'open' with Redis on a closed port: serves with the local limit, one error", async () => {
    gw = await gateway(`redis://127.0.0.1:${await closedPort()}`, { whenDown: 'open' });
    const replies = [get('/a'), get('/b'), get('/c')];
    await until(() => origin.active === 2 && stats().queued === 1, 'two transfers in, one waiting');
    origin.releaseAll();
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(origin.maxActive).toBe(2);
    expect(reported).toHaveLength(1);
    expect(stats().gate).toMatchObject({ redisUp: false, redisOutages: 1, leasesHeld: 0 });
    expect(stats().inFlight).toBe(0);
  });
});

describeRedis('proxy.ready() with a shared gate', () => {
  it('resolves once the gate is connected and subscribed', async () => {
    const { createProxy } = await import('@handoff/core');
    const proxy = createProxy({ concurrency: 2, gate: { redis: REDIS_URL!, key: uniqueKey() } });
    try {
      await expect(proxy.ready({ timeout: 5_000 })).resolves.toBeUndefined();
      expect(proxy.stats.gate).toMatchObject({ shared: true, redisUp: true });
    } finally {
      await proxy.close({ timeout: 0 });
    }
  });

  it('rejects with HANDOFF_GATE_UNAVAILABLE naming the gate when Redis is not reached in time', async () => {
    const { createProxy } = await import('@handoff/core');
    const port = await closedPort();
    const proxy = createProxy({ gate: { redis: `redis://127.0.0.1:${port}`, key: uniqueKey(), onError: () => {} } });
    try {
      await expect(proxy.ready({ timeout: 300 })).rejects.toMatchObject({
        code: 'HANDOFF_GATE_UNAVAILABLE',
        message: 'Redis not connected within 300 ms (proxy.ready): the shared gate',
      });
    } finally {
      await proxy.close({ timeout: 0 });
    }
  });
});
