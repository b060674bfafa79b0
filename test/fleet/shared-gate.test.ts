// RELIABILITY M48: one concurrency limit shared by gateway processes through Redis, measured
// at the origin, and the slots of a process killed with SIGKILL coming back within the lease TTL.
// RELIABILITY M49: the same processes with Redis cut mid-run ('open'): served throughout, one
// error each, the shared limit again once Redis is back.
import { Redis } from 'ioredis';
import { redisRelay } from '../cache/redis-relay';
import type { Reply } from '../helpers/client';
import { until } from '../helpers/wait';
import {
  REDIS_URL,
  countingOrigin,
  gateKeys,
  removeGateKeys,
  startGateway,
  stop,
  uniqueKey,
  type CountingOrigin,
  type GatewayProcess,
} from './helpers';

if (!REDIS_URL) console.log('REDIS_URL is not set: skipping the shared gate suite (CI sets it).');
const describeRedis = REDIS_URL ? describe : describe.skip;

describeRedis('a concurrency gate shared by three processes through Redis', () => {
  let redis: Redis;
  let key: string;
  let origin: CountingOrigin | undefined;
  let gateways: GatewayProcess[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL!);
  });

  beforeEach(() => {
    key = uniqueKey();
  });

  afterEach(async () => {
    await Promise.all(gateways.map((g) => stop(g.child)));
    gateways = [];
    await origin?.close();
    origin = undefined;
    await removeGateKeys(redis, key);
  });

  afterAll(async () => {
    await redis.quit();
  });

  /** Leases whose expiry (by Redis's clock) has not passed. */
  const liveLeases = async () => {
    const [seconds, micros] = await redis.time();
    return redis.zcount(gateKeys(key).holders, `(${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)}`, '+inf');
  };

  const start = (env: Record<string, string>) =>
    Promise.all(['a', 'b', 'c'].map((name) => startGateway(name, { ORIGIN: origin!.url, GATE_REDIS: REDIS_URL!, GATE_KEY: key, ...env })));

  it('never lets the origin see more than the shared limit of 10 while 60 slow requests come in through 3 processes', async () => {
    origin = await countingOrigin(150);
    gateways = await start({ CONCURRENCY: '10', MAX_QUEUE: '60', QUEUE_TIMEOUT: '60000' });
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => gateways[i % 3]!.get(`/slow/${i}`)));
    expect(replies.map((r) => r.status)).toEqual(Array(60).fill(200));
    expect(origin.served).toBe(60);
    expect(origin.maxActive).toBeLessThanOrEqual(10);
    // Each process alone would have let up to 10 in: the limit was the fleet's.
    expect(origin.maxActive).toBeGreaterThan(1);
    for (const g of gateways) expect(g.output()).not.toMatch(/gate-error/);
    await until(async () => (await redis.zcard(gateKeys(key).holders)) === 0, 'every lease given back', { every: 20 });
    expect(await redis.zcard(gateKeys(key).queue)).toBe(0);
  }, 60_000);

  it('gives the slots of a process killed mid-transfer (SIGKILL) back within the lease TTL, and the others complete', async () => {
    const leaseTtl = 2_000;
    origin = await countingOrigin('hold');
    gateways = await start({ CONCURRENCY: '10', MAX_QUEUE: '60', QUEUE_TIMEOUT: '60000', LEASE_TTL: String(leaseTtl) });
    const replies = gateways.map((g) =>
      Array.from({ length: 10 }, (_, i) =>
        g.get(`/held/${g.name}/${i}`).then(
          (reply): Reply | Error => reply,
          (err: Error) => err,
        ),
      ),
    );
    await until(() => origin!.active === 10, 'the 10 shared slots taken', { every: 10, timeout: 15_000 });
    expect(await redis.zcard(gateKeys(key).holders)).toBe(10);

    // The process holding the most slots dies with its transfers: nothing gives its leases back.
    const victim = [...gateways].sort((x, y) => origin!.activeBy(y.name) - origin!.activeBy(x.name))[0]!;
    const lost = origin.activeBy(victim.name);
    expect(lost).toBeGreaterThan(0);
    const killedAt = Date.now();
    await stop(victim.child, 'SIGKILL');
    await until(() => origin!.activeBy(victim.name) === 0, "the killed process's upstream requests closed", { every: 10 });
    expect(origin.active).toBe(10 - lost);

    // The survivors' waiting requests take the freed slots once the leases expire: a third of the TTL for the renewal tick, and slack for a loaded machine.
    await until(() => origin!.active === 10, 'the lost slots back in use', { every: 10, timeout: leaseTtl + leaseTtl / 3 + 3_000 });
    expect(Date.now() - killedAt).toBeLessThanOrEqual(leaseTtl + leaseTtl / 3 + 3_000);
    expect(origin.activeBy(victim.name)).toBe(0);
    expect(origin.maxActive).toBeLessThanOrEqual(10);

    origin.releaseAll();
    const survivors = gateways.filter((g) => g !== victim);
    for (const g of survivors) {
      const answered = await Promise.all(replies[gateways.indexOf(g)]!);
      expect(answered.map((r) => ('status' in r ? r.status : r.message))).toEqual(Array(10).fill(200));
    }
    // The killed process's clients lost their connections: no answer at all.
    const cut = await Promise.all(replies[gateways.indexOf(victim)]!);
    expect(cut.map((r) => ('status' in r ? r.status : 'no answer'))).toEqual(Array(10).fill('no answer'));
    expect(origin.maxActive).toBeLessThanOrEqual(10);
    await until(async () => (await redis.zcard(gateKeys(key).holders)) === 0, 'every lease given back or expired', {
      every: 20,
      timeout: leaseTtl + 3_000,
    });
    for (const g of survivors) expect(g.output()).not.toMatch(/gate-error/);
  }, 90_000);

  it("keeps serving while Redis is cut mid-run ('open'), each process reporting it once, and shares the limit again once it is back", async () => {
    const relay = await redisRelay(REDIS_URL!);
    try {
      origin = await countingOrigin(100);
      gateways = await Promise.all(
        ['a', 'b', 'c'].map((name) =>
          startGateway(name, {
            ORIGIN: origin!.url,
            GATE_REDIS: `redis://127.0.0.1:${relay.port}`,
            GATE_KEY: key,
            CONCURRENCY: '5',
            MAX_QUEUE: '60',
            QUEUE_TIMEOUT: '60000',
            LEASE_TTL: '1500',
            WHEN_DOWN: 'open',
          }),
        ),
      );
      const burst = (tag: string) => Promise.all(Array.from({ length: 30 }, (_, i) => gateways[i % 3]!.get(`/${tag}/${i}`)));
      const first = burst('before');
      await until(() => origin!.served >= 5, 'the first transfers done', { every: 5 });
      relay.cut();
      const during = burst('during');
      expect((await first).map((r) => r.status)).toEqual(Array(30).fill(200));
      expect((await during).map((r) => r.status)).toEqual(Array(30).fill(200));
      for (const g of gateways) {
        await until(() => /gate-error/.test(g.output()), `${g.name} reporting the outage`, { every: 10 });
        expect(g.output().match(/gate-error HANDOFF_GATE_UNAVAILABLE/g)).toHaveLength(1);
      }

      relay.restore();
      for (const g of gateways) await until(async () => (await g.stats()).gate!.redisUp, `${g.name} back on Redis`, { every: 50, timeout: 15_000 });
      // Leases given back during the outage could not be removed: by Redis's clock they have expired within the TTL.
      await until(async () => (await liveLeases()) === 0, 'no lease left alive in Redis', { every: 50, timeout: 5_000 });
      origin.resetMax();
      expect((await burst('after')).map((r) => r.status)).toEqual(Array(30).fill(200));
      expect(origin.maxActive).toBeLessThanOrEqual(5);
      for (const g of gateways) {
        expect(g.output().match(/gate-error/g)).toHaveLength(1);
        expect((await g.stats()).gate).toMatchObject({ redisOutages: 1, redisUp: true });
      }
    } finally {
      await Promise.all(gateways.map((g) => stop(g.child)));
      gateways = [];
      await relay.close();
    }
  }, 90_000);
});
