// RELIABILITY H37: PostgreSQL unreachable while delivering: jobs wait, the outage is reported
// once, and everything is delivered once the database is back.
import net from 'node:net';
import { createQueue, type QueueEvent } from '@handoff/queue';
import { until } from '../helpers/wait';
import { DATABASE_URL, describePostgres, postgresStore, receiver } from './helpers';

/** A TCP relay to PostgreSQL on a fixed port that can be cut (every connection reset) and restored. */
async function pgRelay(): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const target = Number(new URL(DATABASE_URL!).port || 5432);
  const sockets = new Set<net.Socket>();
  const make = () =>
    net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
  let server = make();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return {
    port,
    cut: stop,
    restore: async () => {
      server = make();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: stop,
  };
}

describePostgres('PostgreSQL unreachable while delivering', () => {
  it('keeps the jobs, reports the outage once, and delivers them once the database is back', async () => {
    const store = postgresStore();
    const relay = await pgRelay();
    const target = await receiver();
    const events: QueueEvent[] = [];
    const viaRelay = new URL(DATABASE_URL!);
    viaRelay.port = String(relay.port);
    const worker = createQueue({ ...store.options, database: viaRelay.href, pollInterval: 20, storeTimeout: 1_000, onEvent: (e) => events.push(e) });
    const enqueuer = createQueue({ ...store.options, deliver: false });
    try {
      await enqueuer.start();
      await worker.start();
      await relay.cut();
      const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueuer.enqueue({ url: `${target.url}/j/${i}`, body: 'x' })));
      await until(() => events.some((e) => e.type === 'storeDown'), 'the outage to be reported', { every: 20 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(target.deliveries).toHaveLength(0);
      await relay.restore();
      await until(() => ids.every(({ id }) => target.counts.has(id)), 'every job delivered after the outage', { timeout: 20_000, every: 20 });
      expect(events.filter((e) => e.type === 'storeDown')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'storeUp').length).toBeGreaterThanOrEqual(1);
    } finally {
      await worker.close({ timeout: 1_000 });
      await enqueuer.close();
      await relay.close();
      await target.close();
      await store.drop();
    }
  }, 60_000);
});
