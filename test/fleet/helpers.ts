// Helpers of the shared gate suites: gateway processes, an origin that counts its concurrent requests, Redis keys per test.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { request, type Reply } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '../..');

export const REDIS_URL = process.env.REDIS_URL;

/** A gate key of its own per test, so parallel runs never share a limit; removed afterwards. */
export function uniqueKey(): string {
  return `handoff-test:gate:${randomUUID()}`;
}

/** The Redis keys of one gate (gate/lease-store.ts): holders, queue, tickets, counter. */
export function gateKeys(key: string): { holders: string; queue: string; tickets: string; seq: string } {
  const base = `{${key}}`;
  return { holders: `${base}:holders`, queue: `${base}:queue`, tickets: `${base}:tickets`, seq: `${base}:seq` };
}

export async function removeGateKeys(redis: Redis, key: string): Promise<void> {
  await redis.del(...Object.values(gateKeys(key)));
}

export interface CountingOrigin extends Running {
  /** Requests being answered now, and the most there ever were at once. */
  readonly active: number;
  readonly maxActive: number;
  /** Requests open now, by the gateway named in x-gateway. */
  activeBy(name: string): number;
  readonly served: number;
  /** Answers every held request and, from now on, every new one at once. */
  releaseAll(): void;
  /** Starts measuring maxActive again from the requests open now. */
  resetMax(): void;
}

/**
 * An origin that measures its own concurrency: each request counts from its arrival until
 * its response closes. `holdMs` answers after that long; 'hold' answers only on releaseAll().
 */
export async function countingOrigin(holdMs: number | 'hold'): Promise<CountingOrigin> {
  let active = 0;
  let maxActive = 0;
  let served = 0;
  let holding = holdMs === 'hold';
  // After releaseAll(), a 'hold' origin answers new requests at once (setTimeout of 'hold' would be NaN).
  const delay = holdMs === 'hold' ? 0 : holdMs;
  const byGateway = new Map<string, number>();
  const held = new Set<http.ServerResponse>();
  const answer = (res: http.ServerResponse) => {
    held.delete(res);
    if (!res.destroyed) res.end('ok');
  };
  const running = await upstream((req, res) => {
    const name = String(req.headers['x-gateway'] ?? '');
    active++;
    maxActive = Math.max(maxActive, active);
    byGateway.set(name, (byGateway.get(name) ?? 0) + 1);
    res.on('close', () => {
      active--;
      byGateway.set(name, byGateway.get(name)! - 1);
      served++;
    });
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (holding) held.add(res);
    else setTimeout(() => answer(res), delay);
  });
  // Getters stay getters: Object.assign would copy their values once.
  return {
    ...running,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
    get served() {
      return served;
    },
    activeBy: (name: string) => byGateway.get(name) ?? 0,
    releaseAll() {
      holding = false;
      for (const res of [...held]) answer(res);
    },
    resetMax() {
      maxActive = active;
    },
  };
}

export interface GatewayProcess {
  name: string;
  child: ChildProcess;
  output: () => string;
  get(path: string): Promise<Reply>;
  stats(): Promise<{ inFlight: number; queued: number; gate?: { leasesHeld: number; redisOutages: number; redisUp: boolean } }>;
}

export async function startGateway(name: string, env: Record<string, string>): Promise<GatewayProcess> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'processes/gate-gateway.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env, NAME: name, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (output += chunk));
  await until(() => /port \d+/.test(output) || child.exitCode !== null, `gateway ${name} listening`, { every: 5, timeout: 20_000 });
  if (child.exitCode !== null) throw new Error(`gateway process ${name} exited: ${output}`);
  const url = `http://127.0.0.1:${/port (\d+)/.exec(output)![1]}`;
  return {
    name,
    child,
    output: () => output,
    get: (p) => request(url, { path: p }),
    stats: async () => JSON.parse((await request(url, { path: '/__stats' })).body.toString()),
  };
}

export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
