import type { Redis } from 'ioredis';
import type { ProxyError } from '../errors';
import { duration, fn, invalid } from '../options/values';
import { redisSetting } from '../redis/connect';

/**
 * The `gate` option: one concurrency limit shared by every instance that uses the same
 * Redis and `key`. The top-level `concurrency` is the fleet's limit; `maxQueue` and
 * `queueTimeout` stay per instance.
 */
export interface SharedGateOptions {
  /** A `redis://` URL (the proxy opens and closes those connections) or a connected ioredis client (yours; never closed). */
  redis: string | Redis;
  /** Names the shared limit: instances with the same key share one `concurrency`. */
  key: string;
  /** ms a slot's lease lasts unless renewed (every third of it while the transfer runs); a killed instance's slots come back within it. */
  leaseTtl?: number;
  /** Redis unreachable: 'open' admits against `concurrency` per instance, 'closed' answers 503 (HANDOFF_GATE_UNAVAILABLE). */
  whenDown?: 'open' | 'closed';
  /** ms a Redis command may take before Redis counts as down; default 500 (at most a third of `leaseTtl`). */
  timeout?: number;
  /** Called with a `HANDOFF_GATE_UNAVAILABLE` error once per Redis outage; default: console.error. */
  onError?: (err: ProxyError) => void;
}

export const GATE_DEFAULTS = {
  leaseTtl: 10_000,
  whenDown: 'open' as 'open' | 'closed',
  timeout: 500,
};

/** A lease shorter than this cannot be renewed reliably across a GC pause; longer than this keeps a dead instance's slots too long. */
const LEASE_TTL_RANGE = { min: 1_000, max: 600_000 };

export interface ResolvedGateOptions {
  redis: string | Redis;
  key: string;
  leaseTtl: number;
  whenDown: 'open' | 'closed';
  timeout: number;
  onError: (err: ProxyError) => void;
}

function logError(err: ProxyError): void {
  console.error(`[handoff] ${err.message}`, err.cause);
}

/** Validates the `gate` option once, where it enters: `undefined` for the in-process gate. */
export function resolveGateOptions(value: unknown): ResolvedGateOptions | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('gate', `gate must be an object { redis, key, leaseTtl?, whenDown? }, got ${String(value)}`);
  }
  const o = value as SharedGateOptions;
  if (o.redis == null) throw invalid('gate.redis', 'gate.redis is required: a redis:// URL or an ioredis client');
  const redis = redisSetting(o.redis, 'gate.redis');
  if (typeof redis === 'string') {
    try {
      new URL(redis);
    } catch (cause) {
      throw invalid('gate.redis', `gate.redis is not a valid URL: ${JSON.stringify(redis)}`, cause);
    }
  }
  if (typeof o.key !== 'string' || o.key.trim() === '') {
    throw invalid('gate.key', `gate.key must be a non-empty string naming the shared limit, got ${JSON.stringify(o.key)}`);
  }
  const leaseTtl = duration(o.leaseTtl, 'gate.leaseTtl', GATE_DEFAULTS.leaseTtl);
  if (leaseTtl < LEASE_TTL_RANGE.min || leaseTtl > LEASE_TTL_RANGE.max) {
    throw invalid('gate.leaseTtl', `gate.leaseTtl must be from ${LEASE_TTL_RANGE.min} to ${LEASE_TTL_RANGE.max} ms, got ${leaseTtl}`);
  }
  const whenDown = o.whenDown ?? GATE_DEFAULTS.whenDown;
  if (whenDown !== 'open' && whenDown !== 'closed') {
    throw invalid('gate.whenDown', `gate.whenDown must be 'open' or 'closed', got ${JSON.stringify(whenDown)}`);
  }
  // The default fits any TTL: a command must fail well before the lease it renews runs out.
  const timeout = duration(o.timeout, 'gate.timeout', Math.min(GATE_DEFAULTS.timeout, Math.floor(leaseTtl / 3)));
  if (timeout < 1 || timeout > leaseTtl / 3) {
    throw invalid('gate.timeout', `gate.timeout must be from 1 ms to a third of gate.leaseTtl (${Math.floor(leaseTtl / 3)} ms), got ${timeout}`);
  }
  return { redis, key: o.key, leaseTtl, whenDown, timeout, onError: fn<(err: ProxyError) => void>(o.onError, 'gate.onError') ?? logError };
}
