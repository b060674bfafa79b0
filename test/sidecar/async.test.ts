// The sidecar's async rules: matching requests are answered 202 once stored and delivered to the
// backend later; queue metrics with bounded labels; handoff queue dead-letters|retry|purge.
import { request } from '../helpers/client';
import { until } from '../helpers/wait';
import { DATABASE_URL, describePostgres, postgresStore, receiver, type Receiver, type StoreFixture } from '../queue/helpers';
import { sample } from './helpers/metrics';
import { runToExit, startSidecar, type SidecarProcess } from './helpers/sidecar-process';

describePostgres('sidecar async rules', () => {
  let store: StoreFixture;
  let backend: Receiver;
  let sidecar: SidecarProcess;
  let refuse = true;

  beforeAll(async () => {
    store = postgresStore();
    backend = await receiver((d) => (d.path.startsWith('/hooks/dead') && refuse ? 404 : 200));
    sidecar = await startSidecar({
      args: ['--backend', backend.url, '--async', 'POST /hooks/', '--queue-poll-interval', '20ms'],
      env: { HANDOFF_QUEUE_DATABASE: DATABASE_URL!, HANDOFF_QUEUE_SCHEMA: store.options.schema! },
    });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.kill();
    await backend?.close();
    await store?.drop();
  });

  const env = () => ({ HANDOFF_QUEUE_DATABASE: DATABASE_URL!, HANDOFF_QUEUE_SCHEMA: store.options.schema! });
  const metrics = async () => (await request(sidecar.metricsUrl, { path: '/metrics' })).body.toString();

  it('answers a matching request 202 and delivers it later; other requests are forwarded at once', async () => {
    const reply = await request(sidecar.url, { method: 'POST', path: '/hooks/github?delivery=1', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(202);
    const { id } = JSON.parse(reply.body.toString()) as { id: string };
    await until(() => backend.counts.has(id), 'the delivery', { every: 10 });
    const delivery = backend.deliveries.find((d) => d.key === id)!;
    expect(delivery).toMatchObject({ method: 'POST', path: '/hooks/github?delivery=1' });
    expect(delivery.body.toString()).toBe('{"a":1}');
    expect(delivery.headers['content-type']).toBe('application/json');

    const get = await request(sidecar.url, { path: '/hooks/github' });
    expect(get.status).toBe(200);
    expect(backend.deliveries.at(-1)!.key).toBe('undefined');
  });

  it('counts queue events, delivery latency and depth in /metrics, with bounded labels', async () => {
    let text = '';
    await until(async () => sample((text = await metrics()), 'handoff_queue_jobs_total{event="delivered"}') === 1, 'the delivered counter', { every: 50 });
    expect(sample(text, 'handoff_queue_jobs_total{event="enqueued"}')).toBe(1);
    expect(sample(text, 'handoff_queue_jobs_total{event="dead_lettered"}')).toBe(0);
    expect(sample(text, 'handoff_queue_delivery_seconds_count')).toBe(1);
    expect(sample(text, 'handoff_queue_depth')).toBeLessThanOrEqual(1);
    expect(text).toContain('handoff_queue_oldest_job_age_seconds');
    expect(text).not.toMatch(/github|delivery=1/);
  });

  it('lists a dead letter with handoff queue dead-letters, retries it with retry --all, and purges by id', async () => {
    const reply = await request(sidecar.url, { method: 'POST', path: '/hooks/dead', body: 'x' });
    const { id } = JSON.parse(reply.body.toString()) as { id: string };
    await until(async () => sample(await metrics(), 'handoff_queue_jobs_total{event="dead_lettered"}') === 1, 'the dead letter', { every: 50 });

    const listed = await runToExit({ args: ['queue', 'dead-letters'], env: env() });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${id}\tPOST ${backend.url}/hooks/dead\t1 attempts\tstatus 404`);
    expect(listed.stdout).toContain('1 dead letter\n');

    refuse = false;
    const retried = await runToExit({ args: ['queue', 'retry', '--all'], env: env() });
    expect(retried.stdout).toBe(`${id}\n1 dead letter back in the queue\n`);
    await until(() => backend.counts.get(id) === 1, 'the delivery from the dead letters', { every: 20 });

    refuse = true;
    const again = await request(sidecar.url, { method: 'POST', path: '/hooks/dead', body: 'y' });
    const second = (JSON.parse(again.body.toString()) as { id: string }).id;
    await until(async () => sample(await metrics(), 'handoff_queue_jobs_total{event="dead_lettered"}') === 2, 'a second dead letter', { every: 50 });
    const purged = await runToExit({ args: ['queue', 'purge', second], env: env() });
    expect(purged.stdout).toBe(`${second}\n1 dead letter purged\n`);
    expect((await runToExit({ args: ['queue', 'dead-letters'], env: env() })).stdout).toBe('0 dead letters\n');
  }, 60_000);

  it('refuses bad queue commands and async rules with one line naming them, exit 2', async () => {
    const noIds = await runToExit({ args: ['queue', 'retry'], env: env() });
    expect(noIds.code).toBe(2);
    expect(noIds.stderr).toContain('handoff queue retry needs job ids or --all');
    const badRule = await runToExit({ args: ['--backend', backend.url, '--async', 'POST hooks'] });
    expect(badRule.code).toBe(2);
    expect(badRule.stderr).toContain('async (flag --async) entry 1 must be a method and a path prefix, like "POST /webhooks/"');
  }, 30_000);
});
