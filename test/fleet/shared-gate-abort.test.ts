// RELIABILITY B11 with the shared gate: a client that leaves while waiting for a fleet slot
// takes its ticket out of Redis, and the slots and leases all come back.
import http from 'node:http';
import { Redis } from 'ioredis';
import { openResponse, readBody, request } from '../helpers/client';
import { passThrough, type EngineGateway } from '../helpers/engine-gateway';
import { until } from '../helpers/wait';
import { REDIS_URL, countingOrigin, gateKeys, removeGateKeys, uniqueKey, type CountingOrigin } from './helpers';

if (!REDIS_URL) console.log('REDIS_URL is not set: skipping the shared gate abort suite (CI sets it).');
const describeRedis = REDIS_URL ? describe : describe.skip;

describeRedis('a client leaving while it waits for a shared slot', () => {
  let redis: Redis;
  let key: string;
  let origin: CountingOrigin;
  let gw: EngineGateway;

  beforeAll(() => {
    redis = new Redis(REDIS_URL!);
  });

  beforeEach(async () => {
    key = uniqueKey();
    origin = await countingOrigin('hold');
    gw = await passThrough(origin.url, { concurrency: 1, maxQueue: 10, queueTimeout: 20_000, gate: { redis: REDIS_URL!, key } });
    await until(() => gw.proxy.stats.gate!.redisUp, 'the gate connected');
  });

  afterEach(async () => {
    await gw.close();
    await origin.close();
    await removeGateKeys(redis, key);
  });

  afterAll(async () => {
    await redis.quit();
  });

  it('withdraws its ticket, never reaches the origin, and leaves the gate idle', async () => {
    const holder = openResponse(`${gw.url}/held`);
    await until(() => origin.active === 1, 'the one slot taken');
    const leaving = http.get(`${gw.url}/leaving`);
    leaving.on('error', () => {});
    await until(async () => gw.proxy.stats.queued === 1 && (await redis.zcard(gateKeys(key).queue)) === 1, 'a ticket waiting in Redis', { every: 5 });
    leaving.destroy();
    await until(async () => gw.proxy.stats.queued === 0 && (await redis.zcard(gateKeys(key).queue)) === 0, 'the ticket withdrawn', { every: 5 });
    expect((await gw.handles[1]!.done).error?.code).toBe('HANDOFF_CLIENT_ABORTED');

    origin.releaseAll();
    const { res } = await holder;
    expect((await readBody(res)).complete).toBe(true);
    expect((await request(`${gw.url}/after`)).status).toBe(200);
    expect(origin.served).toBe(2);
    await until(async () => gw.proxy.stats.inFlight === 0 && (await redis.zcard(gateKeys(key).holders)) === 0, 'every lease given back', { every: 5 });
  });
});
