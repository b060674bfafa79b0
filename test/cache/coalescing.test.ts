// Request coalescing: concurrent misses for one URL make one upstream request; the rest are served from it.
import http from 'node:http';
import type { Reply } from '../helpers/client';
import { until } from '../helpers/wait';
import { cacheRig, hits, type CacheRig } from './helpers';

describe('request coalescing', () => {
  let rig: CacheRig;
  /** Responses the origin holds back until the test lets them go. */
  let held: Array<{ url: string; res: http.ServerResponse }>;
  let policy: { cacheControl: string; failFirst?: 'reset' | 'silent' };

  beforeEach(async () => {
    held = [];
    policy = { cacheControl: 'max-age=60' };
    rig = await cacheRig(
      (seen, res) => {
        if (policy.failFirst === 'reset' && rig.origin.requests.length === 1) return void res.socket!.destroy();
        if (policy.failFirst === 'silent' && rig.origin.requests.length === 1) return;
        held.push({ url: seen.url, res });
      },
      { concurrency: 128 },
      { headersTimeout: 2_000 },
    );
  });

  afterEach(() => rig.close());

  function release(): void {
    for (const { url, res } of held.splice(0)) {
      res.setHeader('cache-control', policy.cacheControl);
      res.end(`response to ${url} #${rig.origin.requests.length}`);
    }
  }

  const waiting = () => rig.gw.proxy.stats.cache!.waiting;

  it('sends one upstream request for 100 concurrent misses and serves every client from it', async () => {
    const replies = Array.from({ length: 100 }, () => rig.get('/report'));
    await until(() => held.length === 1 && waiting() === 99, '99 requests waiting on one upstream request');
    release();
    const done = await Promise.all(replies);
    expect(hits(rig.origin, '/report')).toBe(1);
    expect(done.every((r) => r.status === 200 && r.body.toString() === 'response to /report #1')).toBe(true);
    const marks = done.map((r) => r.headers['x-cache']);
    expect(marks.filter((m) => m === 'MISS')).toHaveLength(1);
    expect(marks.filter((m) => m === 'HIT')).toHaveLength(99);
    expect(rig.gw.proxy.stats).toMatchObject({ inFlight: 0, cache: { waiting: 0 } });
  }, 30_000);

  it('revalidates a stale entry once for concurrent requests and serves them all from it', async () => {
    await rig.close();
    let revalidations = 0;
    held = [];
    rig = await cacheRig(
      (seen, res) => {
        res.setHeader('etag', '"e1"');
        if (seen.headers['if-none-match'] === '"e1"') {
          revalidations++;
          res.setHeader('cache-control', 'max-age=60');
          res.statusCode = 304;
          return void held.push({ url: seen.url, res });
        }
        res.setHeader('cache-control', 'max-age=0');
        res.end('stored once');
      },
      { concurrency: 32 },
    );
    await rig.get('/stale');
    const replies = Array.from({ length: 20 }, () => rig.get('/stale'));
    await until(() => held.length === 1 && waiting() === 19, '19 requests waiting on one revalidation');
    held.splice(0).forEach(({ res }) => res.end());
    const done = await Promise.all(replies);
    expect(done.every((r) => r.status === 200 && r.body.toString() === 'stored once')).toBe(true);
    expect(revalidations).toBe(1);
    expect(hits(rig.origin, '/stale')).toBe(2);
  });

  it('lets each waiter go upstream itself when the response may not be stored', async () => {
    policy.cacheControl = 'private';
    const replies = Array.from({ length: 5 }, () => rig.get('/mine'));
    await until(() => held.length === 1 && waiting() === 4, '4 requests waiting');
    release();
    await until(() => held.length === 4, 'the waiters to reach the origin themselves');
    release();
    const done = await Promise.all(replies);
    expect(done.every((r) => r.status === 200 && r.headers['x-cache'] === 'MISS')).toBe(true);
    expect(hits(rig.origin, '/mine')).toBe(5);
  });

  it('fails every waiter cleanly when the one upstream request times out', async () => {
    policy.failFirst = 'silent';
    const replies = Array.from({ length: 5 }, () => rig.get('/slow'));
    await until(() => rig.origin.requests.length === 1 && waiting() === 4, '4 requests waiting');
    const done: Reply[] = await Promise.all(replies);
    expect(done.map((r) => r.status)).toEqual([504, 504, 504, 504, 504]);
    expect(hits(rig.origin, '/slow')).toBe(1);
    expect(rig.gw.proxy.stats).toMatchObject({ inFlight: 0, cache: { waiting: 0 } });
  });

  it('retries the waiters when the upstream resets the connection before answering', async () => {
    policy.failFirst = 'reset';
    const replies = Array.from({ length: 5 }, () => rig.get('/flaky'));
    // The reset is retried once by every transfer (nothing was sent yet); the retries coalesce again.
    await until(() => held.length === 1 && waiting() === 4, 'retries waiting on one upstream request');
    release();
    const done = await Promise.all(replies);
    expect(done.every((r) => r.status === 200)).toBe(true);
    expect(hits(rig.origin, '/flaky')).toBe(2);
  });

  it('hands the upstream request to the next waiter when the first client goes away', async () => {
    const leader = http.get(`${rig.gw.url}/left`, { agent: false });
    leader.on('error', () => {});
    await until(() => held.length === 1, 'the first request upstream');
    const others = Array.from({ length: 4 }, () => rig.get('/left'));
    await until(() => waiting() === 4, '4 requests waiting');
    leader.destroy();
    await until(() => held.length === 2 && waiting() === 3, 'the next waiter to lead');
    release();
    const done = await Promise.all(others);
    expect(done.every((r) => r.status === 200 && r.body.toString() === 'response to /left #2')).toBe(true);
    expect(hits(rig.origin, '/left')).toBe(2);
  });

  it('lets a waiter go upstream on its own after lockTimeout', async () => {
    await rig.close();
    rig = await cacheRig((seen, res) => held.push({ url: seen.url, res }), { cache: { lockTimeout: 50 } });
    const first = rig.get('/held');
    await until(() => held.length === 1, 'the first request upstream');
    const second = rig.get('/held');
    await until(() => held.length === 2, 'the waiter to give up waiting and go upstream');
    release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });
});
