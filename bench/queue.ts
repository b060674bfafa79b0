/**
 * The queue's two targets, measured in one run (npx --yes pnpm@10.34.8 --filter handoff-bench queue):
 * - enqueue: requests stored and committed per second by queue.enqueue() against a bare pg
 *   pool of the same size doing the same single-row INSERT … (autocommit) at the same concurrency;
 * - delivery: jobs delivered per second to a fast local receiver (its own process) against
 *   direct undici.request calls at the same concurrency.
 * Interleaved rounds, the median reported. Needs DATABASE_URL (a schema of its own, dropped after).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Agent, request } from 'undici';
import { createQueue } from '@handoff/queue';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 4);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const POOL = 10;
const JOBS = Number(process.env.JOBS ?? 4000);
const BODY = Buffer.alloc(512, 'x');
const SCHEMA = `handoff_bench_${randomUUID().replace(/-/g, '').slice(0, 8)}`;

if (process.argv[2] === 'receiver') {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
} else {
  void main();
}

async function forEach(seconds: number, concurrency: number, op: () => Promise<unknown>): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await op();
        done++;
      }
    }),
  );
  return done / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;

async function main(): Promise<void> {
  const admin = new Pool({ connectionString: DATABASE_URL, max: 1 });
  const raw = new Pool({ connectionString: DATABASE_URL, max: POOL });
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
  await admin.query(`CREATE TABLE ${SCHEMA}.raw (id uuid PRIMARY KEY, key text NOT NULL UNIQUE, method text, origin text, path text, headers jsonb, body bytea, created_at timestamptz DEFAULT now())`);
  const queue = createQueue({ database: DATABASE_URL, schema: SCHEMA, poolSize: POOL, deliver: false });
  await queue.start();

  const child = fork(__filename, ['receiver'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const target = `http://127.0.0.1:${port}`;

  const bare: number[] = [];
  const queued: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(
      await forEach(SECONDS, CONCURRENCY, () => {
        const id = randomUUID();
        return raw.query(`INSERT INTO ${SCHEMA}.raw (id, key, method, origin, path, headers, body) VALUES ($1, $2, 'POST', $3, '/hook', $4::jsonb, $5)`, [
          id,
          id,
          target,
          '{"content-type":"application/json"}',
          BODY,
        ]);
      }),
    );
    queued.push(await forEach(SECONDS, CONCURRENCY, () => queue.enqueue({ url: `${target}/hook`, headers: { 'content-type': 'application/json' }, body: BODY })));
    process.stdout.write(`enqueue round ${round + 1}: bare pg ${Math.round(bare.at(-1)!)}/s, queue ${Math.round(queued.at(-1)!)}/s\n`);
    await admin.query(`TRUNCATE ${SCHEMA}.raw, ${SCHEMA}.jobs, ${SCHEMA}.keys`);
  }
  await queue.close();

  const direct: number[] = [];
  const delivered: number[] = [];
  const agent = new Agent();
  for (let round = 0; round < ROUNDS; round++) {
    let next = 0;
    let started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < JOBS) {
          const res = await request(`${target}/hook`, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() }, dispatcher: agent });
          await res.body.dump();
        }
      }),
    );
    direct.push(JOBS / ((performance.now() - started) / 1000));

    const filler = createQueue({ database: DATABASE_URL, schema: SCHEMA, poolSize: POOL, deliver: false });
    await Promise.all(Array.from({ length: JOBS }, () => filler.enqueue({ url: `${target}/hook`, headers: { 'content-type': 'application/json' }, body: BODY })));
    await filler.close();
    let count = 0;
    let finished!: () => void;
    const all = new Promise<void>((resolve) => (finished = resolve));
    const worker = createQueue({
      database: DATABASE_URL,
      schema: SCHEMA,
      poolSize: POOL,
      concurrency: CONCURRENCY,
      perTarget: { concurrency: CONCURRENCY },
      onEvent: (e) => e.type === 'delivered' && ++count === JOBS && finished(),
    });
    started = performance.now();
    await worker.start();
    await all;
    delivered.push(JOBS / ((performance.now() - started) / 1000));
    await worker.close();
    process.stdout.write(`delivery round ${round + 1}: direct undici ${Math.round(direct.at(-1)!)}/s, queue ${Math.round(delivered.at(-1)!)}/s\n`);
  }
  await agent.close();
  child.kill();

  const summary = [
    `enqueue, ${CONCURRENCY} concurrent, pool ${POOL}: bare pg INSERT ${Math.round(median(bare))}/s (${range(bare)}), queue.enqueue ${Math.round(median(queued))}/s (${range(queued)}) → ${(median(queued) / median(bare)).toFixed(2)}× (target ≥ 0.8×)`,
    `delivery, ${CONCURRENCY} concurrent, ${JOBS} jobs: direct undici.request ${Math.round(median(direct))}/s (${range(direct)}), queue workers ${Math.round(median(delivered))}/s (${range(delivered)}) → ${(median(delivered) / median(direct)).toFixed(2)}× (target ≥ 0.8×)`,
  ];
  process.stdout.write(`\n${summary.join('\n')}\n`);
  await admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
  await admin.end();
  await raw.end();
}
