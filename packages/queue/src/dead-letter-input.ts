import { ProxyError } from '@handoff/core';

/** Job ids as the queue makes them (randomUUID): what PostgreSQL would take as uuid, in its canonical form. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The most dead letters one deadLetters() call returns. */
export const MAX_DEAD_LETTERS = 100_000;

/**
 * The ids a dead-letter call acts on: `null` for `'all'`, which alone means all; anything
 * but `'all'` or an array of job ids is refused (an `undefined` must never purge everything).
 */
export function deadLetterIds(ids: unknown, call: string): string[] | null {
  if (ids === 'all') return null;
  if (!Array.isArray(ids)) throw new ProxyError('HANDOFF_INVALID_OPTIONS', `${call}() takes 'all' or an array of job ids, got ${describe(ids)}`, { option: 'ids' });
  for (const id of ids) {
    if (typeof id !== 'string' || !UUID.test(id)) throw new ProxyError('HANDOFF_INVALID_OPTIONS', `${call}(): ${describe(id)} is not a job id (a UUID)`, { option: 'ids' });
  }
  return ids as string[];
}

export function deadLetterLimit(limit: unknown): number {
  if (limit == null) return 100;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LETTERS) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `deadLetters() limit must be an integer from 1 to ${MAX_DEAD_LETTERS}, got ${describe(limit)}`, { option: 'limit' });
  }
  return limit;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value) : String(value);
}
