// onEvent is a report, never a step of the work: a listener that throws is reported through
// process.emitWarning, once per throw, and the queue carries on as if it had not.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createQueue, type QueueEvent } from '@handoff/queue';
import { request } from '../helpers/client';
import { until } from '../helpers/wait';
import { STORES, describePostgres, laterApp, postgresStore, receiver, sql, type StoreFixture } from './helpers';

/** The listener warnings the queue emits while a test runs (observed, still emitted). */
function watchWarnings(): { warnings: string[]; stop(): void } {
  const warnings: string[] = [];
  const emit = process.emitWarning.bind(process);
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error, options?: { code?: string }) => {
    if (typeof options === 'object' && options?.code === 'HANDOFF_ON_EVENT_THREW') warnings.push(String(warning));
    else emit(warning as string, options as never);
  }) as typeof process.emitWarning);
  return { warnings, stop: () => spy.mockRestore() };
}

function throwingOn(type: QueueEvent['type'], seen: QueueEvent[]) {
  return (event: QueueEvent) => {
    seen.push(event);
    if (event.type === type) throw new Error(`metrics sink broke on ${event.type}`);
  };
}

describe.each(STORES)('an onEvent that throws, on the %s store', (_name, makeStore) => {
  let store: StoreFixture;
  let watch: ReturnType<typeof watchWarnings>;

  beforeEach(() => {
    store = makeStore();
    watch = watchWarnings();
  });

  afterEach(async () => {
    watch.stop();
    await store.drop();
  });

  it("on 'enqueued' still answers 202 with the stored job's id, and enqueue() still resolves", async () => {
    const target = await receiver();
    const seen: QueueEvent[] = [];
    const app = await laterApp(store, target.url, { onEvent: throwingOn('enqueued', seen) });
    try {
      const reply = await request(app.url, { method: 'POST', path: '/a', body: 'x' });
      expect(reply.status).toBe(202);
      const { id } = JSON.parse(reply.body.toString()) as { id: string };
      await expect(app.queue.enqueue({ url: `${target.url}/b`, body: 'y' })).resolves.toMatchObject({ created: true });
      await until(() => target.counts.has(id) && target.deliveries.length === 2, 'both deliveries');
      await until(() => watch.warnings.length === 2, 'one warning per throw');
      expect(watch.warnings[0]).toMatch(/onEvent threw on 'enqueued' \(metrics sink broke on enqueued\)/);
      expect(seen.some((e) => e.type === 'storeDown')).toBe(false);
    } finally {
      await app.close();
      await target.close();
    }
  }, 30_000);
});

describe.each(STORES)('an onEvent that throws on delivered, in a process of its own, on the %s store', (_name, makeStore) => {
  it('leaves no unhandled rejection (the process lives), and the worker goes on delivering', async () => {
    const store = makeStore();
    const env = store.kind === 'postgres' ? { QUEUE_DATABASE: store.options.database as string, QUEUE_SCHEMA: store.options.schema! } : {};
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'processes/throwing-listener.ts')], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, ...env, TSX_TSCONFIG_PATH: path.resolve(__dirname, '../../tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    try {
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect({ code, output: output.trim().split('\n').pop() }).toEqual({ code: 0, output: 'delivered 2, warnings 2' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await store.drop();
    }
  }, 60_000);
});

describePostgres('an onEvent that throws on storeDown', () => {
  it('does not stop the worker: it claims again once the store is back', async () => {
    const store = postgresStore();
    const watch = watchWarnings();
    const target = await receiver();
    const seen: QueueEvent[] = [];
    const queue = createQueue({ ...store.options, pollInterval: 20, onEvent: throwingOn('storeDown', seen) });
    const schema = store.options.schema!;
    try {
      await queue.start();
      // Every statement fails while the schema is away: the outage is reported, and the listener throws.
      await sql(`ALTER SCHEMA ${schema} RENAME TO ${schema}_away`);
      await until(() => seen.some((e) => e.type === 'storeDown'), 'the outage to be reported', { every: 20 });
      await sql(`ALTER SCHEMA ${schema}_away RENAME TO ${schema}`);
      const { id } = await queue.enqueue({ url: `${target.url}/after`, body: 'x' });
      await until(() => target.counts.has(id), 'the delivery after the outage', { timeout: 10_000 });
      expect(watch.warnings).toHaveLength(1);
    } finally {
      watch.stop();
      await queue.close({ timeout: 1_000 });
      await target.close();
      await sql(`DROP SCHEMA IF EXISTS ${schema}_away CASCADE`);
      await store.drop();
    }
  }, 30_000);
});
