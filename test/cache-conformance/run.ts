/**
 * The HTTP caching test suite (http-tests/cache-tests, on npm as `http-cache-tests`, pinned in
 * the root package.json) run through a handoff gateway: the suite's origin and a Koa app whose
 * one route proxies every request to it with the cache on, once with the memory store and once
 * with the Redis store (REDIS_URL; skipped with a message without it).
 *
 * Fails (exit 1) on a required test that does not pass and is not in allow-list.json, and on an
 * allow-list entry that passes now (the list must say only what is true). Optional tests and
 * checks are counted, never fatal. `--store memory|redis` runs one store; `--json <dir>` keeps
 * each run's raw results there; `--only <id,…>` runs those tests alone (not their dependencies).
 *
 *   npx --yes pnpm@10.34.8 test:cache-conformance
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Koa from 'koa';
import { handoff, type HandoffMiddleware } from '@handoff/koa';
import type { CacheOptions } from '@handoff/core';
import { listen, type Running } from '../helpers/servers';

type Store = 'memory' | 'redis';
type Kind = 'required' | 'optimal' | 'check';
type Result = true | [string, string];

interface TestInfo {
  id: string;
  suite: string;
  kind: Kind;
  dependsOn: string[];
}

interface Run {
  tests: TestInfo[];
  results: Record<string, Result>;
  /** What the cache reported through cache.onError (store outages) during the run. */
  storeErrors: string[];
}

/** What one test's result means, as the suite's own display (lib/display.mjs) reads it. */
type Verdict = 'pass' | 'fail' | 'optional-fail' | 'check-no' | 'not-run' | 'dependency-fail';

const SUITE_DIR = path.dirname(require.resolve('http-cache-tests/package.json'));
const RUN_TIMEOUT = 300_000;
const ALLOW_LIST = path.join(__dirname, 'allow-list.json');

/** The suite's origin: its own request handlers (server/*.mjs) on 127.0.0.1, port 0. */
async function startOrigin(): Promise<Running> {
  const load = async (file: string) => ((await import(pathToFileURL(path.join(SUITE_DIR, 'server', file)).href)) as { default: http.RequestListener }).default;
  const handlers: Record<string, (segments: string[], req: http.IncomingMessage, res: http.ServerResponse) => void> = {
    config: (await load('handle-config.mjs')) as never,
    test: (await load('handle-test.mjs')) as never,
    state: (await load('handle-state.mjs')) as never,
  };
  return listen(
    http.createServer((req, res) => {
      const [, dispatch = '', ...segments] = new URL(req.url ?? '/', 'http://origin').pathname.split('/');
      const handle = handlers[dispatch];
      if (handle) handle(segments, req, res);
      else res.writeHead(404).end();
    }),
  );
}

/** A Koa gateway proxying every request to `origin` through the cache, forwarding every client field. */
async function startGateway(origin: string, cache: CacheOptions, storeErrors: string[]): Promise<{ running: Running; proxy: HandoffMiddleware }> {
  const app = new Koa();
  // The suite sends malformed responses on purpose (status 999, …): their 502s are expected, not logged.
  app.silent = true;
  const proxy = handoff({ cache: { ...cache, onError: (err) => storeErrors.push(err.message) } });
  app.use(proxy);
  app.use((ctx) => {
    const withBody = ctx.method !== 'GET' && ctx.method !== 'HEAD';
    return ctx.proxyFetch(origin + ctx.url, { method: ctx.method, forwardHeaders: 'all', body: withBody ? 'request' : undefined });
  });
  await proxy.proxy.ready();
  return { running: await listen(http.createServer(app.callback())), proxy };
}

/** Runs the suite's client (client.mjs, in its own process) against `base`. */
function runClient(base: string, only: string | undefined): Promise<Omit<Run, 'storeErrors'>> {
  return new Promise((resolve, reject) => {
    const args = [path.join(__dirname, 'client.mjs'), base, SUITE_DIR, ...(only ? [only] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    // Every request is bounded in client.mjs; this bounds the run should the client itself hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return reject(new Error(`the suite's client did not finish within ${RUN_TIMEOUT / 1000} s`));
      if (code !== 0) return reject(new Error(`the suite's client exited with ${code}`));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Run, 'storeErrors'>);
      } catch (err) {
        reject(new Error(`the suite's client printed no results: ${(err as Error).message}`));
      }
    });
  });
}

function verdict(test: TestInfo, run: Run, byId: Map<string, TestInfo>): Verdict {
  const result = run.results[test.id];
  if (result === undefined) return 'not-run';
  // A dependency left out of an --only run counts as met.
  const met = (id: string): boolean => run.results[id] === undefined || (run.results[id] === true && verdict(byId.get(id)!, run, byId) === 'pass');
  if (test.dependsOn.some((id) => !met(id))) return 'dependency-fail';
  if (result !== true && result[0] === 'Setup') return 'not-run';
  if (result === true) return 'pass';
  return test.kind === 'required' ? 'fail' : test.kind === 'optimal' ? 'optional-fail' : 'check-no';
}

async function runStore(store: Store, origin: string, redisUrl: string | undefined, only: string | undefined): Promise<Run> {
  const keyPrefix = `handoff:conformance:${randomUUID()}:`;
  const cache: CacheOptions =
    store === 'memory' ? { store: 'memory' } : { store: { redis: redisUrl!, keyPrefix } };
  const storeErrors: string[] = [];
  const { running, proxy } = await startGateway(origin, cache, storeErrors);
  try {
    return { ...(await runClient(running.url, only)), storeErrors };
  } finally {
    await running.close();
    await proxy.close({ timeout: 1_000 });
    if (store === 'redis') await dropKeys(redisUrl!, keyPrefix);
  }
}

/** Deletes what the run stored under its own key prefix. */
async function dropKeys(url: string, prefix: string): Promise<void> {
  const { default: Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

function readAllowList(): Map<string, string> {
  const raw = JSON.parse(readFileSync(ALLOW_LIST, 'utf8')) as Record<string, unknown>;
  const list = new Map<string, string>();
  for (const [id, reason] of Object.entries(raw)) {
    if (id.startsWith('//')) continue;
    if (typeof reason !== 'string' || reason.trim() === '') throw new Error(`${ALLOW_LIST}: "${id}" needs a reason (a non-empty string)`);
    list.set(id, reason);
  }
  return list;
}

function parseArgs(argv: string[]): { stores: Store[] | undefined; jsonDir: string | undefined; only: string | undefined } {
  let stores: Store[] | undefined;
  let jsonDir: string | undefined;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--store') {
      const value = argv[++i];
      if (value !== 'memory' && value !== 'redis') throw new Error(`--store must be memory or redis, got ${JSON.stringify(value)}`);
      stores = [value];
    } else if (arg === '--json') {
      jsonDir = argv[++i];
      if (!jsonDir) throw new Error('--json needs a directory');
    } else if (arg === '--only') {
      only = argv[++i];
      if (!only) throw new Error('--only needs a comma-separated list of test ids');
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)} (use --store memory|redis, --json <dir>, --only <id,…>)`);
    }
  }
  return { stores, jsonDir, only };
}

async function main(): Promise<number> {
  const { stores: asked, jsonDir, only } = parseArgs(process.argv.slice(2));
  const redisUrl = process.env.REDIS_URL;
  const allow = readAllowList();
  const stores: Store[] = asked ?? ['memory', 'redis'];
  if (stores.includes('redis') && !redisUrl) {
    if (asked) throw new Error('--store redis needs REDIS_URL');
    console.log('REDIS_URL is not set: the Redis store run is skipped');
    stores.splice(stores.indexOf('redis'), 1);
  }
  const { version } = JSON.parse(readFileSync(path.join(SUITE_DIR, 'package.json'), 'utf8')) as { version: string };
  const origin = await startOrigin();
  let failed = false;
  try {
    for (const store of stores) {
      const started = Date.now();
      const run = await runStore(store, origin.url, redisUrl, only);
      if (jsonDir) {
        mkdirSync(jsonDir, { recursive: true });
        writeFileSync(path.join(jsonDir, `${store}.json`), JSON.stringify(run.results, null, 2));
      }
      failed = report(store, version, run, allow, Date.now() - started) || failed;
    }
  } finally {
    await origin.close();
  }
  return failed ? 1 : 0;
}

/** Prints one run's figures and its unexpected results; true when the run fails. */
function report(store: Store, version: string, run: Run, allow: Map<string, string>, ms: number): boolean {
  const byId = new Map(run.tests.map((test) => [test.id, test]));
  const counts: Record<Verdict, string[]> = { pass: [], fail: [], 'optional-fail': [], 'check-no': [], 'not-run': [], 'dependency-fail': [] };
  for (const test of run.tests) counts[verdict(test, run, byId)].push(test.id);
  const required = run.tests.filter((test) => test.kind === 'required');
  const requiredPassed = required.filter((test) => counts.pass.includes(test.id)).length;
  const unexpected = counts.fail.filter((id) => !allow.has(id));
  const allowed = counts.fail.filter((id) => allow.has(id));
  const stale = [...allow.keys()].filter((id) => byId.has(id) && run.results[id] === true);

  console.log(`\nhttp-cache-tests ${version} through handoff, ${store} store (${(ms / 1000).toFixed(1)} s)`);
  const requiredIn = (verdict: Verdict) => counts[verdict].filter((id) => byId.get(id)?.kind === 'required').length;
  console.log(`  ${counts.pass.length} of ${run.tests.length} tests pass`);
  console.log(
    `  required: ${requiredPassed} of ${required.length} pass, ${counts.fail.length} fail (${allowed.length} allow-listed), ` +
      `${requiredIn('not-run')} could not run (setup), ${requiredIn('dependency-fail')} skipped (an optional test or check they build on not met)`,
  );
  console.log(`  optional not met: ${counts['optional-fail'].length}; checks answered no: ${counts['check-no'].length}`);
  // A store outage during the run would make cache misses look like conformance failures.
  for (const message of run.storeErrors) console.log(`  STORE     cache.onError: ${message}`);
  for (const id of allowed) console.log(`  allowed   ${id}: ${allow.get(id)}`);
  for (const id of unexpected) {
    const result = run.results[id];
    console.log(`  FAIL      ${id}: ${result === true ? '' : result?.join(': ')}`);
  }
  for (const id of stale) console.log(`  PASSES    ${id} is in allow-list.json but passes now: take it out`);
  const notRunRequired = counts['not-run'].filter((id) => byId.get(id)?.kind === 'required' && !allow.has(id));
  for (const id of notRunRequired) {
    const result = run.results[id];
    console.log(`  NOT RUN   ${id}: ${result === true || result === undefined ? 'no result' : result.join(': ')}`);
  }
  return unexpected.length > 0 || stale.length > 0 || notRunRequired.length > 0 || run.storeErrors.length > 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
