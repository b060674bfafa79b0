/**
 * Options are validated once, where they enter: the proxy's at construction, a call's
 * when it is made. The resolved shapes are fixed (a call's is built on every request).
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { resolveCacheOptions, type ResolvedCacheOptions } from '../cache/options';
import { ProxyError } from '../errors';
import { resolveGateOptions, type ResolvedGateOptions } from '../gate/options';
import { isFieldValue, isOriginForm, isToken } from '../http/syntax';
import { resolveOffloadRules, type ResolvedOffloadRules } from '../offload/rules';
import type {
  OnComplete,
  OnError,
  OnHeaders,
  ProxyCallOptions,
  ProxyMode,
  ProxyOptions,
  RequestBody,
  RequestQueue,
  TransferSettings,
} from '../types';
import type { AllowOption } from '../upstream/allow';
import { DEFAULTS } from './defaults';
import { duration, fn, integer, invalid } from './values';

/** Which client fields (lower-case, already past the hop-by-hop and proxy-field checks) go upstream besides the default set. */
export type ForwardPolicy = (name: string) => boolean;

export interface ResolvedSettings {
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  rateLimit: number;
  mode: ProxyMode;
  forwardHeaders: ForwardPolicy;
  followRedirects: number;
  maxBodySize: number;
  requestBuffer: number;
  /** Bytes per second, 0 for no minimum. */
  minRequestRate: number;
  minResponseRate: number;
  /** ms before the minimum rates apply. */
  rateGrace: number;
}

export interface ResolvedProxyOptions extends ResolvedSettings {
  concurrency: number;
  maxQueue: number;
  queueTimeout: number;
  retryAfter: number;
  requestBufferTotal: number;
  xForwarded: 'set' | 'append' | false;
  dispatcher: Dispatcher | undefined;
  allow: AllowOption | undefined;
  cache: ResolvedCacheOptions | undefined;
  gate: ResolvedGateOptions | undefined;
  queue: RequestQueue | undefined;
}

export interface ResolvedCall extends ResolvedSettings {
  method: string;
  path: string | undefined;
  headers: Record<string, string | string[]> | undefined;
  body: RequestBody | undefined;
  onHeaders: OnHeaders | undefined;
  onError: OnError | undefined;
  onComplete: OnComplete | undefined;
  signal: AbortSignal | undefined;
  cache: boolean;
  offload: ResolvedOffloadRules | undefined;
  /** Whether a full gate hands the request to the proxy's queue instead of answering 503. */
  overflow: boolean;
}

/** Credentials go to the upstream a call names, never to every upstream by default. */
const NEVER_BY_DEFAULT = new Set(['cookie', 'authorization']);

const NONE: ForwardPolicy = () => false;
/** `forwardHeaders: 'all'`: every relayable client field (body fields still only with the body). */
export const FORWARD_ALL: ForwardPolicy = () => true;

function forwardPolicy(value: unknown, base: ForwardPolicy, perCall: boolean): ForwardPolicy {
  if (value == null) return base;
  if (value === 'all') {
    if (!perCall) throw invalid('forwardHeaders', "forwardHeaders: 'all' forwards cookie and authorization too; pass it per call where it is meant");
    return FORWARD_ALL;
  }
  if (typeof value === 'function') {
    const predicate = value as (name: string) => boolean;
    const own: ForwardPolicy = perCall
      ? (name) => predicate(name) === true
      : (name) => !NEVER_BY_DEFAULT.has(name) && predicate(name) === true;
    return base === NONE ? own : (name) => own(name) || base(name);
  }
  if (!Array.isArray(value)) {
    throw invalid('forwardHeaders', "forwardHeaders must be an array of header names, 'all' (per call) or a function (name) => boolean");
  }
  if (value.length === 0) return base;
  const names = new Set<string>();
  for (const entry of value) {
    if (typeof entry !== 'string' || !isToken(entry)) {
      throw invalid('forwardHeaders', `forwardHeaders holds an invalid header name: ${JSON.stringify(entry)}`);
    }
    const lower = entry.toLowerCase();
    if (!perCall && NEVER_BY_DEFAULT.has(lower)) {
      throw invalid('forwardHeaders', `forwardHeaders may not forward ${lower} for every call; pass it per call where it is meant`);
    }
    names.add(lower);
  }
  return base === NONE ? (name) => names.has(name) : (name) => names.has(name) || base(name);
}

function mode(value: unknown, fallback: ProxyMode): ProxyMode {
  if (value == null) return fallback;
  if (value !== 'response' && value !== 'socket') throw invalid('mode', `mode must be 'response' or 'socket', got ${String(value)}`);
  return value;
}

function minDataRate(value: unknown, base: ResolvedSettings): { request: number; response: number; grace: number } {
  if (value == null) return { request: base.minRequestRate, response: base.minResponseRate, grace: base.rateGrace };
  if (value === false) return { request: 0, response: 0, grace: base.rateGrace };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('minDataRate', 'minDataRate must be { request?, response?, grace? } (bytes per second, ms) or false');
  }
  const rates = value as { request?: unknown; response?: unknown; grace?: unknown };
  return {
    request: integer(rates.request, 'minDataRate.request', 0, base.minRequestRate),
    response: integer(rates.response, 'minDataRate.response', 0, base.minResponseRate),
    grace: duration(rates.grace, 'minDataRate.grace', base.rateGrace),
  };
}

function settings(options: TransferSettings, base: ResolvedSettings, perCall: boolean): ResolvedSettings {
  const rates = minDataRate(options.minDataRate, base);
  return {
    connectTimeout: duration(options.connectTimeout, 'connectTimeout', base.connectTimeout),
    headersTimeout: duration(options.headersTimeout, 'headersTimeout', base.headersTimeout),
    bodyTimeout: duration(options.bodyTimeout, 'bodyTimeout', base.bodyTimeout),
    rateLimit: integer(options.rateLimit, 'rateLimit', 0, base.rateLimit),
    mode: mode(options.mode, base.mode),
    forwardHeaders: forwardPolicy(options.forwardHeaders, base.forwardHeaders, perCall),
    followRedirects: integer(options.followRedirects, 'followRedirects', 0, base.followRedirects),
    maxBodySize: integer(options.maxBodySize, 'maxBodySize', 0, base.maxBodySize),
    requestBuffer: integer(options.requestBuffer, 'requestBuffer', 0, base.requestBuffer),
    minRequestRate: rates.request,
    minResponseRate: rates.response,
    rateGrace: rates.grace,
  };
}

export function resolveProxyOptions(options: ProxyOptions = {}): ResolvedProxyOptions {
  if (typeof options !== 'object' || options === null) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'options must be an object');
  const xForwarded = options.xForwarded ?? DEFAULTS.xForwarded;
  if (xForwarded !== 'set' && xForwarded !== 'append' && xForwarded !== false) {
    throw invalid('xForwarded', `xForwarded must be 'set', 'append' or false, got ${String(xForwarded)}`);
  }
  const dispatcher = options.dispatcher;
  if (dispatcher != null && typeof (dispatcher as Dispatcher).dispatch !== 'function') {
    throw invalid('dispatcher', 'dispatcher must be an undici Dispatcher');
  }
  const { minDataRate: rates, ...defaults } = DEFAULTS;
  const base: ResolvedSettings = {
    ...defaults,
    forwardHeaders: NONE,
    minRequestRate: rates.request,
    minResponseRate: rates.response,
    rateGrace: rates.grace,
  };
  return {
    ...settings(options, base, false),
    concurrency: integer(options.concurrency, 'concurrency', 1, DEFAULTS.concurrency),
    maxQueue: integer(options.maxQueue, 'maxQueue', 0, DEFAULTS.maxQueue),
    queueTimeout: duration(options.queueTimeout, 'queueTimeout', DEFAULTS.queueTimeout),
    retryAfter: integer(options.retryAfter, 'retryAfter', 0, DEFAULTS.retryAfter),
    requestBufferTotal: integer(options.requestBufferTotal, 'requestBufferTotal', 0, DEFAULTS.requestBufferTotal),
    xForwarded,
    dispatcher: dispatcher ?? undefined,
    allow: options.allow ?? undefined,
    cache: resolveCacheOptions(options.cache),
    gate: resolveGateOptions(options.gate),
    queue: requestQueue(options.queue),
  };
}

export function resolveCallOptions(options: ProxyCallOptions | undefined, base: ResolvedProxyOptions): ResolvedCall {
  const o = options ?? {};
  if (typeof o !== 'object') throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'options must be an object or an onHeaders function');
  const signal = o.signal;
  if (signal != null && !(signal instanceof AbortSignal)) throw invalid('signal', 'signal must be an AbortSignal');
  // One object literal of a fixed shape (no spread): this runs on every request.
  const s = settings(o, base, true);
  return {
    connectTimeout: s.connectTimeout,
    headersTimeout: s.headersTimeout,
    bodyTimeout: s.bodyTimeout,
    rateLimit: s.rateLimit,
    mode: s.mode,
    forwardHeaders: s.forwardHeaders,
    followRedirects: s.followRedirects,
    maxBodySize: s.maxBodySize,
    requestBuffer: s.requestBuffer,
    minRequestRate: s.minRequestRate,
    minResponseRate: s.minResponseRate,
    rateGrace: s.rateGrace,
    method: o.method == null ? 'GET' : method(o.method),
    path: o.path == null ? undefined : requestTarget(o.path),
    headers: requestHeaders(o.headers),
    body: requestBody(o.body),
    onHeaders: fn<OnHeaders>(o.onHeaders, 'onHeaders'),
    onError: fn<OnError>(o.onError, 'onError'),
    onComplete: fn<OnComplete>(o.onComplete, 'onComplete'),
    signal: signal ?? undefined,
    cache: useCache(o.cache, base),
    offload: o.offload == null ? undefined : resolveOffloadRules(o.offload),
    overflow: overflow(o.overflow, base),
  };
}

function requestQueue(value: unknown): RequestQueue | undefined {
  if (value == null) return undefined;
  if (typeof (value as RequestQueue).accept !== 'function') {
    throw invalid('queue', 'queue must be a request queue (an object with accept(req, res, request), such as @handoff/queue\'s createQueue())');
  }
  return value as RequestQueue;
}

function overflow(value: unknown, base: ResolvedProxyOptions): boolean {
  if (value == null || value === false) return false;
  if (value !== 'queue') throw invalid('overflow', `overflow must be 'queue' or false, got ${String(value)}`);
  if (!base.queue) throw invalid('overflow', "overflow: 'queue' needs a queue configured on the proxy (the queue option of handoff()/createProxy())");
  return true;
}

function requestHeaders(value: unknown): Record<string, string | string[]> | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('headers', 'headers must be an object of name: value');
  const out: Record<string, string | string[]> = {};
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === undefined) continue;
    if (!isToken(name)) throw invalid('headers', `headers holds an invalid header name: ${JSON.stringify(name)}`);
    const values = Array.isArray(raw) ? raw : [raw];
    for (const v of values) {
      if (typeof v !== 'string' || !isFieldValue(v)) throw invalid('headers', `header ${name} has an invalid value: ${JSON.stringify(v)}`);
    }
    out[name.toLowerCase()] = raw as string | string[];
  }
  return out;
}

function requestBody(value: unknown): RequestBody | undefined {
  if (value == null) return undefined;
  if (value === 'request' || typeof value === 'string' || value instanceof Uint8Array) return value as RequestBody;
  if (typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function') return value as Readable;
  throw invalid('body', "body must be 'request', a string, a Buffer/Uint8Array or a Readable stream");
}

function useCache(value: unknown, base: ResolvedProxyOptions): boolean {
  if (value == null) return base.cache !== undefined;
  if (typeof value !== 'boolean') throw invalid('cache', `cache must be true or false for a call, got ${String(value)}`);
  if (value && !base.cache) throw invalid('cache', 'cache: true needs a cache configured on the proxy (the cache option of handoff()/createProxy())');
  return value;
}

function requestTarget(value: unknown): string {
  if (typeof value !== 'string' || !isOriginForm(value)) {
    throw invalid('path', `path must be an origin-form request target ('/' then visible ASCII, no '#'), got ${JSON.stringify(value)}`);
  }
  return value;
}

function method(value: unknown): string {
  const name = String(value);
  if (!isToken(name)) throw invalid('method', `method is not a valid HTTP method: ${JSON.stringify(name)}`);
  const upper = name.toUpperCase();
  if (upper === 'CONNECT') throw invalid('method', 'method CONNECT cannot be proxied');
  return upper;
}

/** A URL string for a message, its `user:password@` (if it has one) masked: messages reach logs and error pages. */
function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/*)[^/?#]*@/i, '$1***@');
}

export function resolveUrl(url: unknown): URL {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(String(url));
  } catch (cause) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `Upstream URL is not a valid absolute URL: ${withoutUserinfo(String(url))}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `Upstream URL must be http: or https:, got ${parsed.protocol}`);
  }
  if (parsed.username || parsed.password) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'Upstream URL must not carry credentials; pass an authorization header instead');
  }
  return parsed;
}
