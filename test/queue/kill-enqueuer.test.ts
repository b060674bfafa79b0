// RELIABILITY H37: the process answering 202 is SIGKILLed mid-burst: every request it answered
// 202 is in the queue afterwards (the answer goes out only after the commit).
import http from 'node:http';
import { embeddedDb, postgresDb } from '../../packages/queue/src/db';
import { request } from '../helpers/client';
import { until } from '../helpers/wait';
import { DATABASE_URL, STORES } from './helpers';
import { startGateway } from './processes';

describe.each(STORES)('the enqueuing process SIGKILLed mid-burst, %s store', (_name, makeStore) => {
  it('leaves every request it answered 202 in the queue', async () => {
    const fixture = makeStore();
    const env: Record<string, string> =
      fixture.kind === 'postgres' ? { QUEUE_DATABASE: DATABASE_URL!, QUEUE_SCHEMA: fixture.options.schema! } : { QUEUE_DIR: fixture.options.dir! };
    const gateway = await startGateway({ ...env, TARGET: 'http://127.0.0.1:9' });
    const accepted: string[] = [];
    const failed: string[] = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let n = 0;
    const senders = Array.from({ length: 16 }, async () => {
      while (n < 2_000) {
        const i = n++;
        try {
          const reply = await request(`http://127.0.0.1:${gateway.port}`, { method: 'POST', path: `/e/${i}`, body: `event ${i}`, agent });
          if (reply.status === 202) accepted.push((JSON.parse(reply.body.toString()) as { id: string }).id);
        } catch (err) {
          failed.push((err as Error).message);
        }
      }
    });
    try {
      await until(() => accepted.length >= 300, '300 requests to be accepted', { timeout: 30_000, every: 5 });
      await gateway.kill();
      await Promise.all(senders);
      agent.destroy();
      expect(failed.length).toBeGreaterThan(0);

      const db = fixture.kind === 'postgres' ? postgresDb(DATABASE_URL!, 1, 5_000) : await embeddedDb(fixture.options.dir!);
      const schema = fixture.options.schema ?? 'handoff';
      const { rows } = await db.query<{ id: string }>(`SELECT id::text AS id FROM ${schema}.jobs WHERE id = ANY($1::uuid[])`, [accepted]);
      await db.close();
      const stored = new Set(rows.map((r) => r.id));
      console.log(`enqueuer SIGKILLed (${fixture.kind}): ${accepted.length} answered 202, ${stored.size} of them stored, ${failed.length} requests cut`);
      expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await gateway.kill();
      await fixture.drop();
    }
  }, 90_000);
});
