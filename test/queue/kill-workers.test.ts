// RELIABILITY H35: worker processes killed with SIGKILL mid-delivery lose nothing: their
// leases expire and the jobs are delivered again, with the Idempotency-Key, so the target
// can de-duplicate; a worker whose lease expired cannot write an outcome (fenced).
import http from 'node:http';
import { request } from '../helpers/client';
import { until } from '../helpers/wait';
import { DATABASE_URL, describePostgres, laterApp, postgresStore, receiver, type LaterApp, type Receiver, type StoreFixture } from './helpers';
import { startWorker, type Child } from './processes';

const REQUESTS = 2_000;
const KILL_EVERY = 500;

describePostgres('worker processes killed with SIGKILL', () => {
  let store: StoreFixture;
  let target: Receiver | undefined;
  let app: LaterApp | undefined;
  const workers: Child[] = [];

  beforeEach(() => {
    store = postgresStore();
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await app?.close();
    await target?.close();
    await store.drop();
    app = target = undefined;
  });

  it(`delivers every one of ${REQUESTS} requests answered 202 while workers are SIGKILLed every ~${KILL_EVERY} ms`, async () => {
    const started = Date.now();
    // 40 ms per delivery keeps deliveries in flight whenever a worker is killed.
    target = await receiver(() => 200, 40);
    app = await laterApp(store, target.url, { deliver: false });
    const env = { HANDOFF_QUEUE_LEASE: '1s', HANDOFF_QUEUE_POLL_INTERVAL: '50ms', HANDOFF_QUEUE_CONCURRENCY: '16', HANDOFF_QUEUE_TARGET_CONCURRENCY: '16' };
    const spawnWorker = () => startWorker(DATABASE_URL!, store.options.schema!, env).then((w) => (workers.push(w), w));
    await Promise.all([spawnWorker(), spawnWorker()]);

    const accepted: string[] = [];
    const refused: string[] = [];
    let sending = true;
    let kills = 0;
    const killer = (async () => {
      while (sending && Date.now() - started < 60_000) {
        await new Promise((resolve) => setTimeout(resolve, KILL_EVERY));
        const victim = workers.shift();
        if (!victim) continue;
        await victim.kill();
        kills++;
        void spawnWorker();
      }
    })();

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < REQUESTS) {
          const n = next++;
          const reply = await request(app!.url, { method: 'POST', path: `/event/${n}`, body: `event ${n}`, agent });
          if (reply.status === 202) accepted.push((JSON.parse(reply.body.toString()) as { id: string }).id);
          else refused.push(`${n}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
        }
      }),
    );
    // Keep killing until 90 % have arrived, so kills land mid-delivery all along.
    await until(() => target!.counts.size >= REQUESTS * 0.9 || Date.now() - started > 60_000, '90 % of the deliveries', { timeout: 70_000, every: 50 });
    sending = false;
    await killer;
    agent.destroy();
    await until(() => workers.length > 0, 'a live worker', { timeout: 30_000, every: 50 });
    await until(() => accepted.every((id) => target!.counts.has(id)), 'every accepted request to be delivered', { timeout: 90_000, every: 100 });

    const deliveries = [...target.counts.values()].reduce((a, b) => a + b, 0);
    const duplicated = [...target.counts.values()].filter((n) => n > 1).length;
    console.log(
      `kill -9 loop: ${accepted.length} accepted, ${target.counts.size} delivered, ${kills} workers SIGKILLed, ` +
        `${deliveries - target.counts.size} duplicate deliveries (${duplicated} jobs delivered more than once), ${Date.now() - started} ms`,
    );
    expect(refused).toEqual([]);
    expect(accepted).toHaveLength(REQUESTS);
    expect(kills).toBeGreaterThanOrEqual(8);
    expect(accepted.filter((id) => !target!.counts.has(id))).toEqual([]);
  }, 200_000);

  it('delivers a job again within about twice the lease after its worker is SIGKILLed mid-delivery', async () => {
    const lease = 2_000;
    let hang = true;
    target = await receiver(() => (hang ? 'hang' : 200));
    app = await laterApp(store, target.url, { deliver: false });
    const env = { HANDOFF_QUEUE_LEASE: `${lease}ms`, HANDOFF_QUEUE_POLL_INTERVAL: '50ms' };
    const first = await startWorker(DATABASE_URL!, store.options.schema!, env);
    workers.push(first);
    const reply = await request(app.url, { method: 'POST', path: '/once', body: 'x' });
    const { id } = JSON.parse(reply.body.toString()) as { id: string };
    await until(() => target!.deliveries.length === 1, 'the first attempt to arrive', { timeout: 20_000, every: 10 });
    // A second worker is already running, so only the lease decides when the job comes back.
    workers.push(await startWorker(DATABASE_URL!, store.options.schema!, env));
    // Hold the attempt long enough for the first worker to renew its lease at least once.
    await new Promise((resolve) => setTimeout(resolve, lease));
    hang = false;
    const killed = Date.now();
    await first.kill();
    await until(() => target!.counts.get(id) === 1, 'the redelivery', { timeout: 4 * lease, every: 10 });
    const recovery = Date.now() - killed;
    console.log(`recovery after SIGKILL: redelivered ${recovery} ms after the kill (lease ${lease} ms)`);
    expect(target.deliveries.map((d) => d.key)).toEqual([id, id]);
    expect(recovery).toBeLessThanOrEqual(2 * lease);
  }, 60_000);
});
