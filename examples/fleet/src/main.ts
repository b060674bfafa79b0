// Starts a slow origin and three instances on one Redis, sends a burst of requests for a
// new key spread over the instances and prints how many reached the origin, then a burst for
// distinct keys and prints the most the origin saw at once (the shared limit), and stops.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startOrigin } from './origin';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const INSTANCES = 3;
const BURST = 30;
/** The instances' `concurrency`, shared through the gate. */
const SHARED_LIMIT = 4;

interface Instance {
  name: string;
  child: ChildProcess;
  url: string;
}

async function reachable(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.quit();
    return true;
  } catch {
    redis.disconnect();
    return false;
  }
}

/**
 * A GET as it arrives from a load balancer: the same public Host whichever instance serves
 * it. (The forwarded host is part of the cache key, so instances reached under different
 * names would keep separate entries.)
 */
function get(url: string): Promise<{ status: number; cache: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host: 'reports.example' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, cache: res.headers['x-cache'] as string | undefined, body }));
      })
      .on('error', reject);
  });
}

function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const child = fork(path.join(__dirname, 'instance.ts'), { env: { ...process.env, ...env, NAME: name }, execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve({ name, child, url: `http://127.0.0.1:${message.port}` }));
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening`)));
  });
}

async function main(): Promise<void> {
  if (!(await reachable(REDIS_URL))) {
    console.error(`No Redis at ${REDIS_URL}: start one (redis-server) or set REDIS_URL.`);
    process.exitCode = 1;
    return;
  }
  const origin = await startOrigin();
  const keyPrefix = `handoff-example:${randomUUID()}:`;
  const env = { ORIGIN: origin.url, REDIS_URL, KEY_PREFIX: keyPrefix };
  const instances = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startInstance(`instance-${i + 1}`, env)));
  console.log(`origin ${origin.url} (500 ms per answer); ${instances.map((i) => `${i.name} ${i.url}`).join(', ')}; Redis ${REDIS_URL}`);

  try {
    const started = Date.now();
    const replies = await Promise.all(
      Array.from({ length: BURST }, (_, n) => get(`${instances[n % INSTANCES]!.url}/reports/42`)),
    );
    const bodies = new Set(replies.map((r) => r.body));
    const marks = replies.reduce<Record<string, number>>((count, r) => ({ ...count, [String(r.cache)]: (count[String(r.cache)] ?? 0) + 1 }), {});
    console.log(`${BURST} concurrent requests for /reports/42 over ${INSTANCES} instances in ${Date.now() - started} ms:`);
    console.log(`  origin fetches: ${origin.fetches.get('/reports/42') ?? 0}`);
    console.log(`  statuses: ${[...new Set(replies.map((r) => r.status))].join(', ')}; x-cache: ${JSON.stringify(marks)}; distinct bodies: ${bodies.size}`);
    for (const instance of instances) {
      const stats = JSON.parse((await get(`${instance.url}/stats`)).body) as { fleetWaits: number; misses: number; hits: number };
      console.log(`  ${instance.name}: waited for another instance ${stats.fleetWaits}×, misses ${stats.misses}, hits ${stats.hits}`);
    }
    const again = await get(`${instances[0]!.url}/reports/42`);
    console.log(`and once more: x-cache ${again.cache}, origin fetches still ${origin.fetches.get('/reports/42')}`);

    const distinct = 24;
    const spread = await Promise.all(Array.from({ length: distinct }, (_, n) => get(`${instances[n % INSTANCES]!.url}/reports/${100 + n}`)));
    console.log(`${distinct} concurrent requests for distinct reports: statuses ${[...new Set(spread.map((r) => r.status))].join(', ')}, the origin answered at most ${origin.peak()} at once (the shared limit is ${SHARED_LIMIT}; with a limit per instance, ${INSTANCES} × ${SHARED_LIMIT} = ${INSTANCES * SHARED_LIMIT})`);
    // A fleet that fetched more than once, served different bodies, or let more than the limit through is broken.
    if (origin.fetches.get('/reports/42') !== 1 || bodies.size !== 1 || origin.peak() > SHARED_LIMIT) process.exitCode = 1;
  } finally {
    await Promise.all(instances.map(async ({ child }) => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }));
    await origin.close();
    const redis = new Redis(REDIS_URL);
    // The cache's keys start with the prefix; the gate's are `{<prefix>gate}:…` (a hash tag).
    const keys = [...(await redis.keys(`${keyPrefix}*`)), ...(await redis.keys(`{${keyPrefix}gate}*`))];
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}

void main();
