import type { CacheOptions } from '@handoff/core';
import { Redis } from 'ioredis';
import { removeKeys, uniquePrefix } from '../helpers/redis-keys';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.log('REDIS_URL is not set: the Redis store cases of this suite are skipped (CI sets it).');

/** A store a suite runs against: its cache options, and the cleanup of what it wrote. */
export interface StoreCase {
  name: string;
  options(): CacheOptions;
  cleanup(): Promise<void>;
}

function memory(): StoreCase {
  return { name: 'memory', options: () => ({}), cleanup: async () => {} };
}

function redis(url: string): StoreCase {
  let prefix = uniquePrefix();
  return {
    name: 'redis',
    options: () => ({ store: { redis: url, keyPrefix: (prefix = uniquePrefix()) } }),
    cleanup: async () => {
      const client = new Redis(url);
      await removeKeys(client, prefix);
      client.disconnect();
    },
  };
}

/** The memory store, and the Redis store when REDIS_URL is set: `describe.each(STORES)('%s store', …)`. */
export const STORES: Array<[string, StoreCase]> = [['memory', memory()], ...(REDIS_URL ? [['redis', redis(REDIS_URL)] as [string, StoreCase]] : [])];
