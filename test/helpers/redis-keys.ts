import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A key prefix of its own per run or test, so parallel runs never share entries or locks; remove it afterwards. */
export function uniquePrefix(): string {
  return `handoff-test:${randomUUID()}:`;
}

/** Every key under `prefix` (SCAN, bounded). */
export async function prefixedKeys(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  for (let round = 0; round < 1_000; round++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  return found;
}

export async function removeKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await prefixedKeys(redis, prefix);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
}
