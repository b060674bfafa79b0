import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import { Client } from 'pg';
import { handoff, type HandoffMiddleware, type LaterOptions } from '@handoff/koa';
import { createQueue, type HandoffQueue, type QueueOptions } from '@handoff/queue';
import { listen, upstream, type Running } from '../helpers/servers';

export const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL) console.log('DATABASE_URL is not set: skipping the PostgreSQL queue suites (CI sets it).');
/** PGlite import()s Node built-ins at run time, which jest allows only with this flag (pnpm test and .ci/run give it). */
const VM_MODULES = process.execArgv.includes('--experimental-vm-modules') || /--experimental-vm-modules/.test(process.env.NODE_OPTIONS ?? '');
if (!VM_MODULES) console.log('node runs without --experimental-vm-modules: skipping the embedded-store queue suites (pnpm test passes it).');

export const describePostgres = DATABASE_URL ? describe : describe.skip;
export const describeEmbedded = VM_MODULES ? describe : describe.skip;

/** Where a suite's queue lives: a schema of its own on the real PostgreSQL, or a fresh embedded store. */
export interface StoreFixture {
  kind: 'postgres' | 'embedded';
  options: QueueOptions;
  /** Removes the schema or the directory. */
  drop(): Promise<void>;
}

export function postgresStore(): StoreFixture {
  const schema = `handoff_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  return {
    kind: 'postgres',
    options: { database: DATABASE_URL!, schema },
    drop: () => sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).then(() => undefined),
  };
}

export function embeddedStore(): StoreFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-queue-'));
  return { kind: 'embedded', options: { dir }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The stores a suite runs against: `describe.each(STORES)`. */
export const STORES: Array<[string, () => StoreFixture]> = [
  ...(DATABASE_URL ? [['postgres', postgresStore] as [string, () => StoreFixture]] : []),
  ...(VM_MODULES ? [['embedded', embeddedStore] as [string, () => StoreFixture]] : []),
];

/** One statement on DATABASE_URL over its own connection. */
export async function sql<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as R[];
  } finally {
    await client.end();
  }
}

export interface Delivery {
  key: string;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export interface Receiver extends Running {
  deliveries: Delivery[];
  /** Deliveries per Idempotency-Key. */
  counts: Map<string, number>;
  inFlight: number;
  maxInFlight: number;
}

/** A target recording every delivery; `answer` picks the status (default 200) for the n-th request (0-based). */
export async function receiver(answer: (d: Delivery, n: number) => number | { status: number; headers?: Record<string, string> } | 'hang' = () => 200, delayMs = 0): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const counts = new Map<string, number>();
  const state = { inFlight: 0, maxInFlight: 0 };
  const running = await upstream((req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const d: Delivery = { key: String(req.headers['idempotency-key']), method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      const n = deliveries.length;
      deliveries.push(d);
      const reply = answer(d, n);
      const finish = () => {
        state.inFlight--;
        if (reply === 'hang') return;
        const { status, headers } = typeof reply === 'number' ? { status: reply, headers: {} } : reply;
        if (status >= 200 && status < 300) counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
        res.writeHead(status, headers).end();
      };
      if (delayMs > 0) setTimeout(finish, delayMs);
      else finish();
    });
  });
  return Object.defineProperties(Object.assign(running, { deliveries, counts }), {
    inFlight: { get: () => state.inFlight },
    maxInFlight: { get: () => state.maxInFlight },
  }) as Receiver;
}

export interface LaterApp extends Running {
  queue: HandoffQueue;
  middleware: HandoffMiddleware;
}

/** A Koa app whose routes call ctx.proxyLater(target + path), with a queue on `fixture`. */
export async function laterApp(fixture: StoreFixture, target: string, queueOptions: QueueOptions = {}, later: LaterOptions = {}): Promise<LaterApp> {
  const queue = createQueue({ pollInterval: 20, retryBase: 20, retryMax: 200, lease: 2_000, ...fixture.options, ...queueOptions });
  await queue.start();
  const middleware = handoff({ queue });
  const app = new Koa();
  app.on('error', () => {});
  app.use(middleware);
  app.use(async (ctx) => {
    await ctx.proxyLater(`${target}${ctx.url}`, { method: ctx.method, ...later });
  });
  const running = await listen(http.createServer(app.callback()));
  return {
    ...running,
    queue,
    middleware,
    close: async () => {
      await running.close();
      await middleware.close({ timeout: 0 });
      await queue.close({ timeout: 1_000 });
    },
  };
}
