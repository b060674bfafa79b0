// Gateway processes sharing one Redis cache (processes/fleet-gateway.ts), for the fleet suites.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { CacheStats } from '@handoff/core';
import { request, type Reply } from '../helpers/client';
import { until } from '../helpers/wait';

export const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.log('REDIS_URL is not set: skipping the fleet suites (CI sets it).');
export const describeRedis = REDIS_URL ? describe : describe.skip;

const ROOT = path.resolve(__dirname, '../..');

export interface FleetGateway {
  child: ChildProcess;
  output: () => string;
  /** `store-error` lines printed so far. */
  errors: () => string[];
  get(path: string, options?: { timeout?: number }): Promise<Reply>;
  stats(): Promise<{ cache: CacheStats }>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
}

export async function startFleetGateway(env: { origin: string; prefix: string; redisUrl?: string; lockTimeout?: number }): Promise<FleetGateway> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'processes/fleet-gateway.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ORIGIN: env.origin,
      KEY_PREFIX: env.prefix,
      REDIS_URL: env.redisUrl ?? REDIS_URL,
      LOCK_TIMEOUT: String(env.lockTimeout ?? 5_000),
      TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (output += chunk));
  await until(() => /port \d+/.test(output) || child.exitCode !== null, 'a gateway process listening', { every: 5, timeout: 20_000 });
  if (child.exitCode !== null) throw new Error(`gateway process exited: ${output}`);
  const url = `http://127.0.0.1:${/port (\d+)/.exec(output)![1]}`;
  const exit = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  };
  return {
    child,
    output: () => output,
    errors: () => output.split('\n').filter((line) => line.startsWith('store-error')),
    // One public Host for all, as behind a load balancer: the forwarded host is part of the key.
    get: (p, options = {}) => request(url, { path: p, headers: { host: 'api.example' }, ...options }),
    stats: async () => JSON.parse((await request(url, { path: '/__stats' })).body.toString()) as { cache: CacheStats },
    stop: () => exit('SIGTERM'),
    kill: () => exit('SIGKILL'),
  };
}
