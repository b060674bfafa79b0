// Idempotency keys past their window are forgotten as fast as they expire: one sweep deletes
// batch after batch (bounded in batches and time) until none is left, not one batch a minute.
import { randomUUID } from 'node:crypto';
import { createQueue } from '@handoff/queue';
import { embeddedDb, postgresDb, type Db } from '../../packages/queue/src/db';
import { JobStore } from '../../packages/queue/src/store';
import { until } from '../helpers/wait';
import { STORES, describePostgres, postgresStore, sql } from './helpers';

const KEYS = 3_000;

async function countKeys(db: Db, schema: string): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.keys`)).rows[0]!.n;
}

describe.each(STORES)('forgetting expired keys on the %s store', (_name, makeStore) => {
  it(`deletes ${KEYS} expired keys in one sweep`, async () => {
    const fixture = makeStore();
    const schema = fixture.options.schema ?? 'handoff';
    const db: Db = fixture.kind === 'postgres' ? postgresDb(fixture.options.database as string, 4, 10_000) : await embeddedDb(fixture.options.dir!);
    const store = new JobStore(db, schema);
    try {
      await store.init();
      await Promise.all(
        Array.from({ length: KEYS }, () => {
          const id = randomUUID();
          return store.enqueue({ id, key: `k-${id}`, fingerprint: 'f', method: 'POST', origin: 'http://127.0.0.1:1', path: '/x', headers: {}, body: undefined, maxAttempts: 1 });
        }),
      );
      expect(await countKeys(db, schema)).toBe(KEYS);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await store.forget(1)).deleted).toBe(KEYS);
      expect(await countKeys(db, schema)).toBe(0);
    } finally {
      await store.close();
      await fixture.drop();
    }
  }, 60_000);
});

describePostgres('a worker forgetting keys another process stored', () => {
  it(`forgets ${KEYS} expired keys at its first sweep, not ${KEYS / 1000} minutes later`, async () => {
    const store = postgresStore();
    const schema = store.options.schema!;
    const enqueuer = createQueue({ ...store.options, deliver: false, idempotencyWindow: 1 });
    const worker = createQueue({ ...store.options, pollInterval: 20, idempotencyWindow: 1 });
    try {
      await enqueuer.start();
      await Promise.all(Array.from({ length: KEYS }, (_, i) => enqueuer.enqueue({ url: `http://127.0.0.1:1/k/${i}`, body: 'x' })));
      await worker.start();
      await until(async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.keys`))[0]!.n === 0, 'every expired key to be forgotten', { timeout: 10_000, every: 100 });
    } finally {
      await worker.close({ timeout: 0 });
      await enqueuer.close();
      await store.drop();
    }
  }, 60_000);
});
