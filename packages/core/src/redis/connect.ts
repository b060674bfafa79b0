import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { invalid } from '../options/values';

/**
 * Options for a connection a request must never wait on: commands are not queued
 * while disconnected nor resent after a reconnect, and each one has `timeout` ms.
 * A failed command is the caller's cue to go on without Redis.
 */
export function failFast(timeout: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: timeout,
    connectTimeout: Math.max(timeout, 1_000),
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    // On close, a socket that never connected is destroyed after this rather than ioredis's
    // 2 s, which kept a closed proxy's process alive that long after Redis was unreachable.
    disconnectTimeout: timeout,
  };
}

/**
 * Opens a connection to a redis:// URL. ioredis is an optional peer dependency:
 * loaded only here, so users of the memory cache and the local gate never load (or
 * install) it. `option` names the setting in the error when it is missing.
 */
export function connect(url: string, options: RedisOptions, option: string): Redis {
  let module: { Redis?: new (url: string, options: RedisOptions) => Redis };
  try {
    module = createRequire(__filename)('ioredis') as typeof module;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw cause;
    throw invalid(option, `${option} needs the ioredis package, an optional peer dependency of @handoff/core: npm install ioredis`, cause);
  }
  return new module.Redis!(url, options);
}

/** Whether a value looks like a connected ioredis client (duck-typed: ioredis stays optional). */
export function isRedisClient(value: unknown): value is Redis {
  const client = value as Partial<Redis> | null;
  return typeof client === 'object' && client !== null && typeof client.getBuffer === 'function' && typeof client.status === 'string';
}

/** Validates a `redis` setting: a redis:// or rediss:// URL, or an ioredis client. */
export function redisSetting(value: unknown, option: string): string | Redis {
  if (typeof value === 'string') {
    if (!/^rediss?:\/\//.test(value)) throw invalid(option, `${option} must be a redis:// or rediss:// URL, got ${JSON.stringify(value)}`);
    return value;
  }
  if (!isRedisClient(value)) throw invalid(option, `${option} must be a redis:// URL or an ioredis client`);
  return value;
}

/** Closes a connection this library opened: QUIT, or a hard disconnect when Redis is gone. */
export async function quit(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
