// RELIABILITY H35, H37: delivery at least once with the Idempotency-Key, retries with full
// jitter that honour Retry-After, dead letters after maxAttempts (and back), per-target limits.
import { createQueue, type HandoffQueue, type QueueEvent, type QueueOptions } from '@handoff/queue';
import { closedPort } from '../helpers/servers';
import { until } from '../helpers/wait';
import { STORES, receiver, type Receiver, type StoreFixture } from './helpers';

describe.each(STORES)('delivery on the %s store', (_name, makeStore) => {
  let store: StoreFixture;
  let queue: HandoffQueue | undefined;
  let target: Receiver | undefined;
  const events: QueueEvent[] = [];

  beforeEach(() => {
    store = makeStore();
    events.length = 0;
  });

  afterEach(async () => {
    await queue?.close({ timeout: 1_000 });
    await target?.close();
    await store.drop();
    queue = target = undefined;
  });

  async function start(options: QueueOptions = {}): Promise<HandoffQueue> {
    queue = createQueue({ pollInterval: 20, retryBase: 20, retryMax: 200, lease: 2_000, ...store.options, ...options, onEvent: (e) => events.push(e) });
    await queue.start();
    return queue;
  }

  it('retries 408, 425, 429 and 5xx until a 2xx, every attempt with the same Idempotency-Key', async () => {
    const statuses = [503, 429, 408, 425, 500];
    target = await receiver((_d, n) => statuses[n] ?? 200);
    const q = await start();
    const { id } = await q.enqueue({ url: `${target.url}/retry`, body: 'x' });
    await until(() => target!.counts.get(id) === 1, 'the sixth attempt to succeed');
    expect(target.deliveries.map((d) => d.key)).toEqual(Array(6).fill(id));
    expect(events.filter((e) => e.type === 'retried')).toHaveLength(5);
    await until(() => events.some((e) => e.type === 'delivered' && e.attempts === 6), 'the delivered event');
  });

  it('waits at least Retry-After before the next attempt', async () => {
    target = await receiver((_d, n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : 200));
    const q = await start();
    const { id } = await q.enqueue({ url: `${target.url}/later`, body: 'x' });
    await until(() => target!.counts.get(id) === 1, 'the second attempt');
    const [first, second] = target.deliveries;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
  });

  it('sends a 4xx other than 408/425/429 straight to the dead letters, with its status', async () => {
    target = await receiver(() => 404);
    const q = await start();
    const { id } = await q.enqueue({ url: `${target.url}/missing`, body: 'x' });
    await until(() => events.some((e) => e.type === 'deadLettered'), 'the dead letter');
    expect(target.deliveries).toHaveLength(1);
    const [letter] = await q.deadLetters();
    expect(letter).toMatchObject({ id, attempts: 1, lastStatus: 404, url: `${target.url}/missing`, method: 'POST' });
  });

  it('dead-letters after maxAttempts with the last status; retried from there it is delivered; purge removes dead letters', async () => {
    let failing = true;
    target = await receiver(() => (failing ? 502 : 200));
    const q = await start({ maxAttempts: 3 });
    const { id } = await q.enqueue({ url: `${target.url}/flaky`, body: 'x' });
    await until(() => events.some((e) => e.type === 'deadLettered'), 'the dead letter');
    expect(target.deliveries).toHaveLength(3);
    expect(await q.deadLetters()).toEqual([expect.objectContaining({ id, attempts: 3, lastStatus: 502 })]);

    failing = false;
    expect(await q.retryDeadLetters([id])).toEqual([id]);
    await until(() => target!.counts.get(id) === 1, 'the delivery from the dead letters');
    expect(await q.deadLetters()).toEqual([]);

    failing = true;
    const other = await q.enqueue({ url: `${target.url}/flaky`, body: 'y' });
    await until(() => events.filter((e) => e.type === 'deadLettered').length === 2, 'a second dead letter');
    expect(await q.purgeDeadLetters('all')).toEqual([other.id]);
    expect(await q.deadLetters()).toEqual([]);
  });

  it('retries a target that refuses connections, with the error kept for the dead letter', async () => {
    const port = await closedPort();
    const q = await start({ maxAttempts: 2 });
    await q.enqueue({ url: `http://127.0.0.1:${port}/gone`, body: 'x' });
    await until(() => events.some((e) => e.type === 'deadLettered'), 'the dead letter');
    const [letter] = await q.deadLetters();
    expect(letter!.lastStatus).toBeNull();
    expect(letter!.lastError).toMatch(/^HANDOFF_UPSTREAM_UNREACHABLE: .*ECONNREFUSED/);
  });

  it('never exceeds the per-target concurrency, measured at the target', async () => {
    target = await receiver(() => 200, 30);
    const q = await start({ concurrency: 32, perTarget: { concurrency: 3 } });
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => q.enqueue({ url: `${target!.url}/c/${i}`, body: 'x' })));
    await until(() => ids.every(({ id }) => target!.counts.has(id)), 'every delivery', { timeout: 20_000 });
    expect(target.maxInFlight).toBe(3);
  });

  it('never exceeds the per-target rate, measured at the target', async () => {
    target = await receiver();
    const rate = 20;
    const q = await start({ concurrency: 32, targets: { [target.url]: { rate, concurrency: 32 } } });
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => q.enqueue({ url: `${target!.url}/r/${i}`, body: 'x' })));
    await until(() => ids.every(({ id }) => target!.counts.has(id)), 'every delivery', { timeout: 20_000 });
    const times = target.deliveries.map((d) => d.at).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0; i < times.length; i++) most = Math.max(most, times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length);
    // Starts are spaced 1/rate apart; arrivals may bunch by a few ms of scheduling.
    expect(most).toBeLessThanOrEqual(rate + 1);
    expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual(((50 - 1) * 1000) / rate - 100);
  });

  it('G33: close() gives a delivery still running at its deadline back for redelivery, its attempt not counted', async () => {
    let hold = true;
    target = await receiver(() => (hold ? 'hang' : 200));
    const q = await start({ headersTimeout: 30_000 });
    const { id } = await q.enqueue({ url: `${target.url}/slow`, body: 'x' });
    await until(() => target!.deliveries.length === 1, 'the delivery to start');
    await q.close({ timeout: 100 });
    queue = undefined;
    // The aborted attempt is released, not counted: a new worker delivers it at once.
    hold = false;
    await start();
    await until(() => target!.counts.get(id) === 1, 'the redelivery');
    expect(events.some((e) => e.type === 'deadLettered')).toBe(false);
  });
});
