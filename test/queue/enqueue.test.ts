// RELIABILITY H34, H36, H37: ctx.proxyLater answers 202 only once the request is stored, with
// the same header policy as proxyFetch; a repeated Idempotency-Key gets the first job's id.
import { createProxy } from '@handoff/core';
import { createQueue } from '@handoff/queue';
import { request } from '../helpers/client';
import { closedPort, upstream as upstreamApp } from '../helpers/servers';
import { until } from '../helpers/wait';
import { STORES, describePostgres, laterApp, postgresStore, receiver, type LaterApp, type Receiver, type StoreFixture } from './helpers';

describe.each(STORES)('proxyLater on the %s store', (_name, makeStore) => {
  let store: StoreFixture;
  let target: Receiver;
  let app: LaterApp;

  beforeAll(async () => {
    store = makeStore();
    target = await receiver();
    app = await laterApp(store, target.url, { maxBodySize: 64 * 1024 });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await target?.close();
    await store?.drop();
  });

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    request(app.url, { method: 'POST', path, body, headers: { 'content-type': 'application/octet-stream', ...headers } });

  it('answers 202 with the job id once stored, and delivers it with the forwarded headers and an Idempotency-Key', async () => {
    const reply = await post('/hooks/a?x=1', 'payload', { cookie: 'secret=1', 'x-custom': 'no', accept: 'application/json' });
    expect(reply.status).toBe(202);
    expect(reply.headers['content-type']).toBe('application/json');
    const { id } = JSON.parse(reply.body.toString()) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => target.counts.has(id), 'the delivery');
    const delivery = target.deliveries.find((d) => d.key === id)!;
    expect(delivery.method).toBe('POST');
    expect(delivery.path).toBe('/hooks/a?x=1');
    expect(delivery.body.toString()).toBe('payload');
    // The proxyFetch policy: negotiation and body fields and X-Forwarded-*, never cookies or unknown fields.
    expect(delivery.headers['content-type']).toBe('application/octet-stream');
    expect(delivery.headers.accept).toBe('application/json');
    expect(delivery.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(delivery.headers.cookie).toBeUndefined();
    expect(delivery.headers['x-custom']).toBeUndefined();
  });

  it('keeps a binary body byte for byte', async () => {
    const bytes = Buffer.alloc(40_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    const reply = await request(app.url, { method: 'PUT', path: '/blob', body: [bytes.subarray(0, 10_000), bytes.subarray(10_000)] });
    expect(reply.status).toBe(202);
    const { id } = JSON.parse(reply.body.toString()) as { id: string };
    await until(() => target.counts.has(id), 'the delivery');
    expect(target.deliveries.find((d) => d.key === id)!.body.equals(bytes)).toBe(true);
  });

  it('H34: a retry with the same Idempotency-Key gets the first job id, and the target gets one job', async () => {
    const key = `key-${Date.now()}`;
    const first = await post('/once', 'same', { 'idempotency-key': key });
    const second = await post('/once', 'same', { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.toString()).toBe(first.body.toString());
    await until(() => target.counts.has(key), 'the delivery');
    const third = await post('/once', 'same', { 'idempotency-key': key });
    expect(third.body.toString()).toBe(first.body.toString());
    expect(target.deliveries.filter((d) => d.key === key)).toHaveLength(1);
  });

  it('H36: the same key with another payload gets 422, and one still being received 409', async () => {
    const key = `conflict-${Date.now()}`;
    expect((await post('/c', 'one', { 'idempotency-key': key })).status).toBe(202);
    const mismatch = await post('/c', 'two', { 'idempotency-key': key });
    expect(mismatch.status).toBe(422);

    const slow = `slow-${Date.now()}`;
    const { default: http } = await import('node:http');
    const pending = http.request(`${app.url}/s`, { method: 'POST', headers: { 'idempotency-key': slow, 'content-length': '4' } });
    const firstReply = new Promise<number>((resolve) => pending.on('response', (res) => (res.resume(), resolve(res.statusCode!))));
    pending.write('ab');
    await until(async () => (await post('/s', 'abcd', { 'idempotency-key': slow })).status === 409, 'a 409 while the first is being received', { every: 20 });
    pending.end('cd');
    expect(await firstReply).toBe(202);
  });

  it('answers 413 for a body over maxBodySize, declared or streamed, and stores nothing', async () => {
    const before = target.deliveries.length;
    const depth = (await app.queue.depth()).depth;
    const declared = await post('/big', Buffer.alloc(64 * 1024 + 1));
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    const streamed = await request(app.url, { method: 'POST', path: '/big', body: [Buffer.alloc(40_000), Buffer.alloc(40_000)] }).catch((err: Error) => err);
    if (!(streamed instanceof Error)) expect(streamed.status).toBe(413);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // depth() is cached for a second
    expect((await app.queue.depth()).depth).toBeLessThanOrEqual(depth);
    expect(target.deliveries.slice(before).some((d) => d.path === '/big')).toBe(false);
  });
});

describePostgres('proxyLater with PostgreSQL unreachable', () => {
  it('H37: answers 503 with Retry-After and never 202 when the store cannot be reached (a closed port)', async () => {
    const port = await closedPort();
    const queue = createQueue({ database: `postgres://postgres@127.0.0.1:${port}/test`, deliver: false, storeTimeout: 2_000, retryAfter: 7 });
    const proxy = createProxy({ queue });
    const app = await upstreamApp((req, res) => void proxy.later(req, res, `http://127.0.0.1:${port}${req.url}`, { method: req.method }));
    try {
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => request(app.url, { method: 'POST', path: `/h/${i}`, body: 'x' })));
      for (const reply of replies) {
        expect(reply.status).toBe(503);
        expect(reply.headers['retry-after']).toBe('7');
      }
    } finally {
      await app.close();
      await proxy.close({ timeout: 0 });
      await queue.close({ timeout: 0 });
    }
  });

  it('H37: a store that goes away after start answers 503 with Retry-After for every request', async () => {
    const { tcpRelay } = await import('../faults/tcp-relay');
    const store = postgresStore();
    const relay = await tcpRelay(5432);
    const target = await receiver();
    const url = new URL(store.options.database as string);
    url.port = String(relay.port);
    const app = await laterApp({ ...store, options: { ...store.options, database: url.href } }, target.url, { deliver: false, storeTimeout: 2_000, retryAfter: 7 });
    try {
      expect((await request(app.url, { method: 'POST', path: '/up', body: 'x' })).status).toBe(202);
      await relay.close();
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => request(app.url, { method: 'POST', path: `/down/${i}`, body: 'x' })));
      for (const reply of replies) {
        expect(reply.status).toBe(503);
        expect(reply.headers['retry-after']).toBe('7');
      }
    } finally {
      await app.close();
      await target.close();
      await store.drop();
    }
  }, 30_000);
});

describePostgres('a queue starting on a schema that exists', () => {
  it('H35: takes no lock on the tables, so a worker restarting under load cannot deadlock with enqueuers', async () => {
    const { Client } = await import('pg');
    const store = postgresStore();
    const first = createQueue({ ...store.options, deliver: false });
    await first.start();
    // An open transaction holding what an INSERT holds: a CREATE INDEX (even IF NOT EXISTS) would wait on it.
    const holder = new Client({ connectionString: store.options.database as string });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${store.options.schema}.jobs, ${store.options.schema}.keys IN ROW EXCLUSIVE MODE`);
    const second = createQueue({ ...store.options, deliver: false, storeTimeout: 3_000 });
    try {
      await expect(second.start()).resolves.toBeUndefined();
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await second.close({ timeout: 0 });
      await first.close({ timeout: 0 });
      await store.drop();
    }
  });
});
