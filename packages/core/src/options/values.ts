/**
 * Validators for option values: each returns the value or throws HANDOFF_INVALID_OPTIONS
 * naming the option (`err.option`) and saying what is allowed. `null`/`undefined` take
 * the fallback; `0` is a value.
 */
import { ProxyError } from '../errors';

/** The longest delay a Node timer honours: a longer one fires after 1 ms (with a warning). */
export const MAX_DELAY = 2 ** 31 - 1;

export function invalid(option: string, message: string, cause?: unknown): ProxyError {
  return new ProxyError('HANDOFF_INVALID_OPTIONS', message, cause === undefined ? { option } : { option, cause });
}

export function integer(value: unknown, name: string, min: number, fallback: number): number {
  if (value == null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(name, `${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** ms for a timer: an integer from 0 to MAX_DELAY. */
export function duration(value: unknown, name: string, fallback: number): number {
  const ms = integer(value, name, 0, fallback);
  if (ms > MAX_DELAY) {
    throw invalid(name, `${name} must be at most ${MAX_DELAY} ms (about 24.8 days, the longest a Node timer waits), got ${ms}`);
  }
  return ms;
}

export function fn<T>(value: unknown, name: string): T | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'function') throw invalid(name, `${name} must be a function`);
  return value as T;
}
