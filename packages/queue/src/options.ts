/**
 * The queue's options, validated once in createQueue() with the core's rules and messages
 * (`err.option` names the option). `null`/`undefined` take the default; `0` is a value.
 */
import type { Pool } from 'pg';
import { MAX_DELAY, ProxyError } from '@handoff/core';
import { safeListener, type QueueEvent } from './events';

/** Limits toward one destination origin, per worker process. */
export interface TargetLimits {
  /** Most deliveries in flight at once to the origin. */
  concurrency?: number;
  /** Most delivery attempts started per second to the origin (evenly spaced); 0 for no limit. */
  rate?: number;
}

export interface QueueOptions {
  /** A `postgres://` URL, or a pg Pool the caller owns. Without it: the embedded store in `dir`. */
  database?: string | Pool;
  /** The embedded store's directory (PGlite, persisted): one process only. Default `.handoff-queue`. */
  dir?: string;
  /** PostgreSQL schema holding the queue's tables (created if missing). */
  schema?: string;
  /** Connections in the pool the queue makes for a URL. */
  poolSize?: number;
  /** ms to connect to the database or run one statement before the store counts as unavailable. */
  storeTimeout?: number;
  /** Largest body stored, in bytes (it is held in memory and in one row); beyond it 413. */
  maxBodySize?: number;
  /** The answer once a request is stored: its status and body (default 202, `{"id":"…"}`); 204 and 205 are sent without a body. */
  accepted?: { status?: number; body?: (id: string) => string | object };
  /** Seconds sent in Retry-After when a request could not be stored (503). */
  retryAfter?: number;
  /** ms an Idempotency-Key is remembered: a request repeating it within this gets the first job's id. */
  idempotencyWindow?: number;
  /** Run delivery workers in this process (false: enqueue only, `handoff worker` delivers). */
  deliver?: boolean;
  /** Deliveries in flight at once in this process. */
  concurrency?: number;
  /** ms a claimed job is leased for; a live worker renews it every third of it, a dead one's expires. */
  lease?: number;
  /** ms between claims while there is nothing to deliver. */
  pollInterval?: number;
  /** Delivery attempts before a job goes to the dead letters. */
  maxAttempts?: number;
  /** ms: the first retry waits up to this (full jitter), doubling per attempt up to `retryMax`. */
  retryBase?: number;
  retryMax?: number;
  /** Delivery timeouts, ms (0: none). */
  connectTimeout?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
  /** Limits for every destination origin, and overrides per origin (`'http://host:port'`). */
  perTarget?: TargetLimits;
  targets?: Record<string, TargetLimits>;
  /** Origins deliveries may go to; a job for another goes to the dead letters. Default: any. */
  allow?: readonly string[];
  /**
   * Everything the queue does, for metrics and logs; store outages are reported once each.
   * It should not throw: a throw is reported with process.emitWarning and ignored.
   */
  onEvent?: (event: QueueEvent) => void;
}

// Every key createQueue() takes: `satisfies` fails the build when QueueOptions gains one not listed here.
const KNOWN = {
  database: true,
  dir: true,
  schema: true,
  poolSize: true,
  storeTimeout: true,
  maxBodySize: true,
  accepted: true,
  retryAfter: true,
  idempotencyWindow: true,
  deliver: true,
  concurrency: true,
  lease: true,
  pollInterval: true,
  maxAttempts: true,
  retryBase: true,
  retryMax: true,
  connectTimeout: true,
  headersTimeout: true,
  bodyTimeout: true,
  perTarget: true,
  targets: true,
  allow: true,
  onEvent: true,
} satisfies Record<keyof QueueOptions, true>;

/** Statuses that carry no content (RFC 9110 §15.3.5, §15.3.6): the accepted answer is sent without a body. */
const NO_CONTENT = new Set([204, 205]);

export interface ResolvedQueueOptions {
  database: string | Pool | undefined;
  dir: string;
  schema: string;
  poolSize: number;
  storeTimeout: number;
  maxBodySize: number;
  acceptedStatus: number;
  /** undefined for 204 and 205, which are sent without a body. */
  acceptedBody: ((id: string) => string | object) | undefined;
  retryAfter: number;
  idempotencyWindow: number;
  deliver: boolean;
  concurrency: number;
  lease: number;
  pollInterval: number;
  maxAttempts: number;
  retryBase: number;
  retryMax: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  perTarget: Required<TargetLimits>;
  targets: ReadonlyMap<string, Required<TargetLimits>>;
  allow: ReadonlySet<string> | undefined;
  onEvent: (event: QueueEvent) => void;
}

/** Every option's default, in one place. */
export const QUEUE_DEFAULTS = {
  dir: '.handoff-queue',
  schema: 'handoff',
  poolSize: 10,
  storeTimeout: 5_000,
  maxBodySize: 1024 * 1024,
  acceptedStatus: 202,
  retryAfter: 5,
  idempotencyWindow: 24 * 60 * 60 * 1000,
  deliver: true,
  concurrency: 16,
  lease: 5_000,
  pollInterval: 250,
  maxAttempts: 10,
  retryBase: 1_000,
  retryMax: 5 * 60 * 1000,
  connectTimeout: 10_000,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
  perTarget: { concurrency: 8, rate: 0 },
};

function invalid(option: string, message: string): ProxyError {
  return new ProxyError('HANDOFF_INVALID_OPTIONS', message, { option });
}

/** Refuses keys of `value` not in `known`, naming the first (`prefix` dotted before it). */
function knownKeys(value: object, known: object, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(known, key)) throw invalid(`${prefix}${key}`, `Unknown queue option: ${prefix}${key}`);
  }
}

function integer(value: unknown, name: string, min: number, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value == null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** ms for a timer: at most MAX_DELAY, the longest a Node timer waits. */
function duration(value: unknown, name: string, min: number, fallback: number): number {
  return integer(value, name, min, fallback, MAX_DELAY);
}

function limits(value: TargetLimits | undefined, name: string, base: Required<TargetLimits>): Required<TargetLimits> {
  if (value == null) return base;
  if (typeof value !== 'object') throw invalid(name, `${name} must be { concurrency?, rate? }`);
  knownKeys(value, { concurrency: true, rate: true }, `${name}.`);
  return { concurrency: integer(value.concurrency, `${name}.concurrency`, 1, base.concurrency), rate: integer(value.rate, `${name}.rate`, 0, base.rate) };
}

/** `http://host:port` as URL.origin writes it, or a thrown error naming the option. */
export function originOf(value: unknown, name: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalid(name, `${name} must hold origins like http://host:port, got ${JSON.stringify(value)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.username) {
    throw invalid(name, `${name} must hold bare http(s) origins without a path, got ${JSON.stringify(value)}`);
  }
  return url.origin;
}

export function resolveQueueOptions(options: QueueOptions = {}): ResolvedQueueOptions {
  if (typeof options !== 'object' || options === null) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'queue options must be an object');
  knownKeys(options, KNOWN, '');
  const { database, dir, schema } = options;
  const accepted = options.accepted ?? {};
  if (typeof accepted !== 'object') throw invalid('accepted', 'accepted must be { status?, body? }');
  knownKeys(accepted, { status: true, body: true }, 'accepted.');
  if (database != null && typeof database !== 'string' && typeof (database as Pool).query !== 'function') {
    throw invalid('database', 'database must be a postgres:// URL or a pg Pool');
  }
  if (typeof database === 'string' && !/^postgres(ql)?:\/\//.test(database)) {
    throw invalid('database', `database must be a postgres:// or postgresql:// URL, got ${JSON.stringify(database.replace(/\/\/[^@/]*@/, '//…@'))}`);
  }
  if (database != null && dir != null) throw invalid('dir', 'give database (PostgreSQL) or dir (the embedded store), not both');
  if (dir != null && (typeof dir !== 'string' || dir === '')) throw invalid('dir', 'dir must be a directory path');
  if (schema != null && (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))) {
    throw invalid('schema', `schema must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63), got ${JSON.stringify(schema)}`);
  }
  if (accepted.body != null && typeof accepted.body !== 'function') throw invalid('accepted.body', 'accepted.body must be a function (id) => string | object');
  const acceptedStatus = integer(accepted.status, 'accepted.status', 200, QUEUE_DEFAULTS.acceptedStatus, 299);
  if (NO_CONTENT.has(acceptedStatus) && accepted.body != null) {
    throw invalid('accepted.body', `accepted.status ${acceptedStatus} is sent without a body: give no accepted.body, or another 2xx status`);
  }
  for (const name of ['deliver'] as const) {
    if (options[name] != null && typeof options[name] !== 'boolean') throw invalid(name, `${name} must be true or false`);
  }
  if (options.onEvent != null && typeof options.onEvent !== 'function') throw invalid('onEvent', 'onEvent must be a function');
  const perTarget = limits(options.perTarget, 'perTarget', QUEUE_DEFAULTS.perTarget);
  const targets = new Map<string, Required<TargetLimits>>();
  for (const [origin, value] of Object.entries(options.targets ?? {})) targets.set(originOf(origin, 'targets'), limits(value, `targets.${origin}`, perTarget));
  if (options.allow != null && !Array.isArray(options.allow)) throw invalid('allow', 'allow must be an array of origins');
  const lease = duration(options.lease, 'lease', 100, QUEUE_DEFAULTS.lease);
  const retryBase = duration(options.retryBase, 'retryBase', 0, QUEUE_DEFAULTS.retryBase);
  const retryMax = duration(options.retryMax, 'retryMax', 0, QUEUE_DEFAULTS.retryMax);
  if (retryMax < retryBase) throw invalid('retryMax', `retryMax must be at least retryBase (${retryBase} ms), got ${retryMax}`);
  return {
    database: database ?? undefined,
    dir: dir ?? QUEUE_DEFAULTS.dir,
    schema: schema ?? QUEUE_DEFAULTS.schema,
    poolSize: integer(options.poolSize, 'poolSize', 1, QUEUE_DEFAULTS.poolSize, 1000),
    storeTimeout: duration(options.storeTimeout, 'storeTimeout', 1, QUEUE_DEFAULTS.storeTimeout),
    maxBodySize: integer(options.maxBodySize, 'maxBodySize', 1, QUEUE_DEFAULTS.maxBodySize, 256 * 1024 * 1024),
    acceptedStatus,
    acceptedBody: NO_CONTENT.has(acceptedStatus) ? undefined : (accepted.body ?? ((id) => ({ id }))),
    retryAfter: integer(options.retryAfter, 'retryAfter', 0, QUEUE_DEFAULTS.retryAfter),
    idempotencyWindow: duration(options.idempotencyWindow, 'idempotencyWindow', 1, QUEUE_DEFAULTS.idempotencyWindow),
    deliver: options.deliver ?? QUEUE_DEFAULTS.deliver,
    concurrency: integer(options.concurrency, 'concurrency', 1, QUEUE_DEFAULTS.concurrency, 10_000),
    lease,
    pollInterval: duration(options.pollInterval, 'pollInterval', 1, QUEUE_DEFAULTS.pollInterval),
    maxAttempts: integer(options.maxAttempts, 'maxAttempts', 1, QUEUE_DEFAULTS.maxAttempts, 1000),
    retryBase,
    retryMax,
    connectTimeout: duration(options.connectTimeout, 'connectTimeout', 0, QUEUE_DEFAULTS.connectTimeout),
    headersTimeout: duration(options.headersTimeout, 'headersTimeout', 0, QUEUE_DEFAULTS.headersTimeout),
    bodyTimeout: duration(options.bodyTimeout, 'bodyTimeout', 0, QUEUE_DEFAULTS.bodyTimeout),
    perTarget,
    targets,
    allow: options.allow ? new Set(options.allow.map((o) => originOf(o, 'allow'))) : undefined,
    onEvent: safeListener(options.onEvent ?? undefined),
  };
}
