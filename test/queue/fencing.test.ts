// RELIABILITY H35: an outcome is written only by the lease it was claimed under. A worker whose
// lease expired (a long pause, a lost connection) and was taken over changes nothing.
import { randomUUID } from 'node:crypto';
import { embeddedDb, postgresDb, type Db } from '../../packages/queue/src/db';
import { JobStore } from '../../packages/queue/src/store';
import { STORES } from './helpers';

describe.each(STORES)('leases on the %s store', (_name, makeStore) => {
  it('fences a worker whose lease expired: its complete, retry and dead letter change nothing; the new holder completes', async () => {
    const fixture = makeStore();
    const db: Db = fixture.kind === 'postgres' ? postgresDb(fixture.options.database as string, 2, 5_000) : await embeddedDb(fixture.options.dir!);
    const store = new JobStore(db, fixture.options.schema ?? 'handoff');
    try {
      await store.init();
      const id = randomUUID();
      await store.enqueue({ id, key: id, fingerprint: 'f', method: 'POST', origin: 'http://127.0.0.1:1', path: '/x', headers: {}, body: Buffer.from([0, 1, 2]), maxAttempts: 5 });
      const [a, b] = [randomUUID(), randomUUID()];
      const [first] = await store.claim(a, 200, 10, []);
      expect(first).toMatchObject({ id, attempts: 1 });
      expect(first!.body!.equals(Buffer.from([0, 1, 2]))).toBe(true);
      expect(await store.claim(b, 200, 10, [])).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const [second] = await store.claim(b, 10_000, 10, []);
      expect(second).toMatchObject({ id, attempts: 2 });

      expect(await store.extend(a, 10_000, [{ id, attempts: 1 }])).toEqual(new Set());
      expect(await store.complete(a, id, 1)).toBe(false);
      expect(await store.retry(a, first!, 0, 500, undefined)).toBe(false);
      expect(await store.bury(a, first!, 500, undefined)).toBe(false);
      expect(await store.deadLetters(10)).toEqual([]);
      expect(await store.complete(b, id, 2)).toBe(true);
      expect((await store.depth()).depth).toBe(0);
    } finally {
      await store.close();
      await fixture.drop();
    }
  }, 30_000);
});
