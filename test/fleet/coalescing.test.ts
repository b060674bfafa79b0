// Misses for one key across every instance sharing a Redis cache make one upstream fetch;
// RELIABILITY M48: a leader killed with SIGKILL stalls nobody past lockTimeout; M49: Redis going
// away leaves every request served (uncached), one error per process, and recovery.
import { Redis } from 'ioredis';
import { recordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';
import type { Reply } from '../helpers/client';
import { until } from '../helpers/wait';
import { redisRelay, type RedisRelay } from '../cache/redis-relay';
import { removeKeys, uniquePrefix } from '../helpers/redis-keys';
import { REDIS_URL, describeRedis, startFleetGateway, type FleetGateway } from './cache-fleet';

/** An origin answering each path after `delay` ms, cacheable, with a body naming the fetch. */
function slowOrigin(delay: number, hang?: (path: string, n: number) => boolean): Promise<RecordingUpstream> {
  let fetches = 0;
  return recordingUpstream((seen, res) => {
    const n = ++fetches;
    if (hang?.(seen.url, n)) return; // never answers: the leader is killed meanwhile
    setTimeout(() => {
      res.setHeader('cache-control', seen.url.includes('no-store') ? 'no-store' : 'max-age=60');
      res.end(`${seen.url} fetch #${n}`);
    }, delay);
  });
}

/** `count` concurrent GETs for `path`, spread round-robin over the gateways. */
function burst(gateways: FleetGateway[], path: string, count: number): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => gateways[i % gateways.length]!.get(path, { timeout: 30_000 })));
}

function fetchesOf(origin: RecordingUpstream, path: string): number {
  return origin.requests.filter((r) => r.url === path).length;
}

describeRedis('misses coalesced across three gateway processes on one Redis', () => {
  let redis: Redis;
  let prefix: string;
  let origin: RecordingUpstream;
  let gateways: FleetGateway[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL!);
    prefix = uniquePrefix();
    origin = await slowOrigin(300);
    gateways = await Promise.all([0, 1, 2].map(() => startFleetGateway({ origin: origin.url, prefix })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await origin?.close();
    await removeKeys(redis, prefix);
    await redis?.quit();
  });

  it('60 concurrent requests for a new key, spread over 3 processes, make exactly 1 origin fetch and get one body', async () => {
    const replies = await burst(gateways, '/report?id=1', 60);
    expect(replies.map((r) => r.status)).toEqual(Array(60).fill(200));
    expect(new Set(replies.map((r) => r.body.toString()))).toEqual(new Set(['/report?id=1 fetch #1']));
    expect(fetchesOf(origin, '/report?id=1')).toBe(1);
    // The two processes that did not lead waited for the one that did.
    const stats = await Promise.all(gateways.map((g) => g.stats()));
    expect(stats.reduce((sum, s) => sum + s.cache.fleetWaits, 0)).toBe(2);
    expect(stats.reduce((sum, s) => sum + s.cache.lockTimeouts, 0)).toBe(0);
    expect(stats.map((s) => s.cache.waiting)).toEqual([0, 0, 0]);
  }, 30_000);

  it('a response that may not be stored (no-store) is never shared: each of 30 clients gets its own fetch', async () => {
    const replies = await burst(gateways, '/private?no-store=1', 30);
    expect(replies.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(new Set(replies.map((r) => r.body.toString())).size).toBe(30);
    expect(fetchesOf(origin, '/private?no-store=1')).toBe(30);
  }, 30_000);
});

describeRedis('the leading process killed with SIGKILL mid-fetch', () => {
  let redis: Redis;
  let prefix: string;
  let origin: RecordingUpstream | undefined;
  let gateways: FleetGateway[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL!);
    prefix = uniquePrefix();
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await origin?.close();
    await removeKeys(redis, prefix);
    await redis?.quit();
  });

  it('M48: the others answer within lockTimeout plus one fetch, none hangs', async () => {
    const lockTimeout = 2_000;
    const fetchTime = 100;
    origin = await slowOrigin(fetchTime, (_path, n) => n === 1);
    gateways = await Promise.all([0, 1, 2].map(() => startFleetGateway({ origin: origin!.url, prefix, lockTimeout })));
    const [leader, ...others] = gateways as [FleetGateway, FleetGateway, FleetGateway];
    const lost = leader.get('/slow', { timeout: 30_000 }).catch((err: Error) => err);
    await until(() => origin!.requests.length === 1, 'the leader at the origin', { every: 5 });

    const sent = Date.now();
    const waiting = burst(others, '/slow', 20).then((replies) => ({ replies, at: Date.now() }));
    // Both followers wait on the leader's lock before it dies.
    await until(async () => (await Promise.all(others.map((g) => g.stats()))).every((s) => s.cache.fleetWaits === 1), 'two processes waiting on the lock', { every: 10 });
    await leader.kill();

    const { replies, at } = await waiting;
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(at - sent).toBeLessThan(lockTimeout + fetchTime + 1_500);
    // The leader's own client loses its connection with the process.
    expect(String(await lost)).toMatch(/socket hang up|ECONNRESET/);
    // The leader's fetch, then at most one of each follower's own (local coalescing holds).
    expect(fetchesOf(origin, '/slow')).toBeLessThanOrEqual(3);
    const stats = await Promise.all(others.map((g) => g.stats()));
    expect(stats.map((s) => s.cache.waiting)).toEqual([0, 0]);
    expect(stats.reduce((sum, s) => sum + s.cache.lockTimeouts, 0)).toBeGreaterThanOrEqual(1);
  }, 40_000);
});

describeRedis('Redis going away under a fleet of two processes', () => {
  let redis: Redis;
  let prefix: string;
  let relay: RedisRelay;
  let origin: RecordingUpstream;
  let gateways: FleetGateway[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL!);
    prefix = uniquePrefix();
    relay = await redisRelay(REDIS_URL!);
    origin = await slowOrigin(200);
    gateways = await Promise.all([0, 1].map(() => startFleetGateway({ origin: origin.url, prefix, redisUrl: `redis://127.0.0.1:${relay.port}`, lockTimeout: 3_000 })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await relay?.close();
    await origin?.close();
    await removeKeys(redis, prefix);
    await redis?.quit();
  });

  it('M49: serves every request while Redis is cut (uncached), reports one error per process, and coalesces across processes again once back', async () => {
    const before = await burst(gateways, '/before', 20);
    expect(before.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(fetchesOf(origin, '/before')).toBe(1);

    const waitsBefore = (await Promise.all(gateways.map((g) => g.stats()))).map((s) => s.cache.fleetWaits);
    relay.cut();
    await until(() => gateways.every((g) => g.errors().length > 0), 'each process to notice the outage', { timeout: 5_000, every: 20 });
    for (let round = 0; round < 3; round++) {
      // Proxied uncached: every request served, none waiting on a lock or a store that cannot answer.
      const replies = await burst(gateways, `/during?round=${round}`, 20);
      expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(replies.every((r) => r.headers['x-cache'] === 'MISS')).toBe(true);
    }
    const during = await Promise.all(gateways.map((g) => g.stats()));
    expect(during.map((s) => s.cache.fleetWaits)).toEqual(waitsBefore);
    expect(during.map((s) => s.cache.lockTimeouts)).toEqual([0, 0]);
    expect(gateways.map((g) => g.errors().length)).toEqual([1, 1]);

    relay.restore();
    // Back once a response one process stores is a HIT on the other.
    let probe = 0;
    await until(
      async () => {
        const path = `/probe?n=${probe++}`;
        await gateways[0]!.get(path);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return (await gateways[1]!.get(path)).headers['x-cache'] === 'HIT';
      },
      'the cache shared again',
      { timeout: 20_000, every: 100 },
    );
    await until(async () => (await Promise.all(gateways.map((g) => g.stats()))).every((s) => s.cache.storeOutages === 1), 'the outage counted', { timeout: 5_000, every: 50 });
    const replies = await burst(gateways, '/after', 20);
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(fetchesOf(origin, '/after')).toBe(1);
    expect(gateways.map((g) => g.errors().length)).toEqual([1, 1]);
  }, 60_000);
});
