import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions } from './cache/options';
import { ProxyError } from './errors';
import type { OffloadKind } from './offload/instruction';
import { resolveOffloadRules, type OffloadRules, type ResolvedOffloadRules } from './offload/rules';
import type { AllowOption } from './upstream/allow';

/** What `onHeaders` sees and may change: the response about to be sent, names lower-case. */
export interface ResponseHead {
  status: number;
  headers: Record<string, string | string[]>;
}

/** An answer `onError` may give instead of the default error response. */
export interface ErrorAnswer {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
}

/** The outcome of one transfer. `status` is what the client was sent (0 if nothing was). */
export interface ProxyOutcome {
  status: number;
  /** Response body bytes written towards the client. */
  bytes: number;
  durationMs: number;
  error?: import('./errors').ProxyError;
  /** Set when an offload instruction was performed: which kind. */
  offload?: OffloadKind;
  /** ms from the call until the head relayed to the client was available (an offload's target or file, not the instruction's). */
  headersMs?: number;
  /** Offloads only: ms from the call until the response carrying the instruction arrived. */
  instructionMs?: number;
}

export type OnHeaders = (res: ResponseHead) => void | ResponseHead | Promise<void | ResponseHead>;
export type OnError = (
  err: import('./errors').ProxyError,
) => void | ErrorAnswer | Promise<void | ErrorAnswer>;
export type OnComplete = (info: ProxyOutcome) => void;

export type ProxyMode = 'response' | 'socket';
export type RequestBody = 'request' | string | Buffer | Uint8Array | Readable;

/** Per-endpoint settings; each may also be given to `createProxy()`/`handoff()` as a default. */
export interface TransferSettings {
  /** ms to get a connection to the upstream; 0 disables. */
  connectTimeout?: number;
  /** ms from sending the request to the complete response head; 0 disables. */
  headersTimeout?: number;
  /** ms allowed without body progress (between chunks, either side); 0 disables. Not a total duration. */
  bodyTimeout?: number;
  /** Bytes per second for each response; 0 for no limit. */
  rateLimit?: number;
  /** 'response' writes through ServerResponse; 'socket' takes the connection over and closes it afterwards. */
  mode?: ProxyMode;
  /** Client request headers forwarded besides the default set (names, any case). */
  forwardHeaders?: readonly string[];
  /** Redirects to follow (each hop re-checked against `allow`, credentials dropped across origins); 0 relays them. */
  followRedirects?: number;
  /** Largest request body streamed with body: 'request', in bytes; beyond it the client gets 413. 0 for no limit. */
  maxBodySize?: number;
}

export interface ProxyOptions extends TransferSettings {
  /** Most upstream transfers in flight at once. */
  concurrency?: number;
  /** Most transfers waiting for a slot; beyond it the client gets 503. */
  maxQueue?: number;
  /** ms a transfer may wait for a slot before the client gets 503; 0 waits without limit. */
  queueTimeout?: number;
  /** Seconds sent in Retry-After with every 503 the proxy produces. */
  retryAfter?: number;
  /** How X-Forwarded-For/-Proto/-Host are set: 'set' replaces the client's, 'append' extends a trusted chain, false sends none. */
  xForwarded?: 'set' | 'append' | false;
  /** An undici Dispatcher owned by the caller; otherwise the proxy creates an Agent and closes it on close(). */
  dispatcher?: Dispatcher;
  /** Upstreams that may be reached: bare origins, or a predicate. Anything else is refused before connecting. */
  allow?: AllowOption;
  /** RFC 9111 shared caching of GET/HEAD responses: true for the in-memory defaults, or cache options. */
  cache?: boolean | CacheOptions;
}

export interface ProxyCallOptions extends TransferSettings {
  method?: string;
  /**
   * The request target sent upstream byte for byte (origin-form: `/path?query`), instead of
   * the URL's parsed and normalised path; the URL then only names the origin. For proxies
   * passing a client's `req.url` on unchanged. Visible ASCII only, starting with '/', no '#'.
   */
  path?: string;
  /** Request headers for the upstream; they override anything forwarded from the client. */
  headers?: Record<string, string | string[] | undefined>;
  /** 'request' streams the incoming request body; otherwise the body to send. */
  body?: RequestBody;
  onHeaders?: OnHeaders;
  onError?: OnError;
  onComplete?: OnComplete;
  /** Aborting it aborts the transfer at whatever stage it is. */
  signal?: AbortSignal;
  /** false bypasses the proxy's cache for this call (no lookup, no store). */
  cache?: boolean;
  /**
   * Performs offload instructions (Offload-*, X-Accel-Redirect, X-Sendfile) found in the
   * upstream's response head instead of relaying it. Pass the same object every call.
   */
  offload?: OffloadRules;
}

export const DEFAULTS = {
  concurrency: 64,
  maxQueue: 256,
  queueTimeout: 5_000,
  connectTimeout: 10_000,
  headersTimeout: 60_000,
  bodyTimeout: 60_000,
  rateLimit: 0,
  mode: 'response' as ProxyMode,
  retryAfter: 1,
  xForwarded: 'set' as 'set' | 'append' | false,
  forwardHeaders: [] as readonly string[],
  followRedirects: 0,
  maxBodySize: 0,
};

export interface ResolvedSettings {
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  rateLimit: number;
  mode: ProxyMode;
  forwardHeaders: ReadonlySet<string>;
  followRedirects: number;
  maxBodySize: number;
}

export interface ResolvedProxyOptions extends ResolvedSettings {
  concurrency: number;
  maxQueue: number;
  queueTimeout: number;
  retryAfter: number;
  xForwarded: 'set' | 'append' | false;
  dispatcher: Dispatcher | undefined;
  allow: AllowOption | undefined;
  cache: ResolvedCacheOptions | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NONE: string[] = [];
const NEVER_BY_DEFAULT = new Set(['cookie', 'authorization']);

export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

function invalid(message: string): ProxyError {
  return new ProxyError('HANDOFF_INVALID_OPTIONS', message);
}

function integer(value: unknown, name: string, min: number, fallback: number): number {
  if (value == null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function mode(value: unknown, fallback: ProxyMode): ProxyMode {
  if (value == null) return fallback;
  if (value !== 'response' && value !== 'socket') {
    throw invalid(`mode must be 'response' or 'socket', got ${String(value)}`);
  }
  return value;
}

function headerNames(value: unknown, name: string, perCall: boolean): string[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw invalid(`${name} must be an array of header names`);
  return value.map((entry) => {
    if (typeof entry !== 'string' || !isToken(entry)) {
      throw invalid(`${name} holds an invalid header name: ${JSON.stringify(entry)}`);
    }
    const lower = entry.toLowerCase();
    if (!perCall && NEVER_BY_DEFAULT.has(lower)) {
      throw invalid(`${name} may not forward ${lower} for every call; pass it per call where it is meant`);
    }
    return lower;
  });
}

function settings(options: TransferSettings, base: ResolvedSettings, perCall: boolean): ResolvedSettings {
  const extra = options.forwardHeaders == null ? NONE : headerNames(options.forwardHeaders, 'forwardHeaders', perCall);
  return {
    connectTimeout: integer(options.connectTimeout, 'connectTimeout', 0, base.connectTimeout),
    headersTimeout: integer(options.headersTimeout, 'headersTimeout', 0, base.headersTimeout),
    bodyTimeout: integer(options.bodyTimeout, 'bodyTimeout', 0, base.bodyTimeout),
    rateLimit: integer(options.rateLimit, 'rateLimit', 0, base.rateLimit),
    mode: mode(options.mode, base.mode),
    forwardHeaders: extra.length === 0 ? base.forwardHeaders : new Set([...base.forwardHeaders, ...extra]),
    followRedirects: integer(options.followRedirects, 'followRedirects', 0, base.followRedirects),
    maxBodySize: integer(options.maxBodySize, 'maxBodySize', 0, base.maxBodySize),
  };
}

export function resolveProxyOptions(options: ProxyOptions = {}): ResolvedProxyOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const xForwarded = options.xForwarded ?? DEFAULTS.xForwarded;
  if (xForwarded !== 'set' && xForwarded !== 'append' && xForwarded !== false) {
    throw invalid(`xForwarded must be 'set', 'append' or false, got ${String(xForwarded)}`);
  }
  const dispatcher = options.dispatcher;
  if (dispatcher != null && typeof (dispatcher as Dispatcher).dispatch !== 'function') {
    throw invalid('dispatcher must be an undici Dispatcher');
  }
  const base: ResolvedSettings = {
    ...DEFAULTS,
    forwardHeaders: new Set(DEFAULTS.forwardHeaders),
  };
  return {
    ...settings(options, base, false),
    concurrency: integer(options.concurrency, 'concurrency', 1, DEFAULTS.concurrency),
    maxQueue: integer(options.maxQueue, 'maxQueue', 0, DEFAULTS.maxQueue),
    queueTimeout: integer(options.queueTimeout, 'queueTimeout', 0, DEFAULTS.queueTimeout),
    retryAfter: integer(options.retryAfter, 'retryAfter', 0, DEFAULTS.retryAfter),
    xForwarded,
    dispatcher: dispatcher ?? undefined,
    allow: options.allow ?? undefined,
    cache: resolveCacheOptions(options.cache),
  };
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
}

function fn<T>(value: unknown, name: string): T | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'function') throw invalid(`${name} must be a function`);
  return value as T;
}

function requestHeaders(value: unknown): Record<string, string | string[]> | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('headers must be an object of name: value');
  const out: Record<string, string | string[]> = {};
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === undefined) continue;
    if (!isToken(name)) throw invalid(`headers holds an invalid header name: ${JSON.stringify(name)}`);
    const values = Array.isArray(raw) ? raw : [raw];
    for (const v of values) {
      if (typeof v !== 'string' || !isFieldValue(v)) {
        throw invalid(`header ${name} has an invalid value: ${JSON.stringify(v)}`);
      }
    }
    out[name.toLowerCase()] = raw as string | string[];
  }
  return out;
}

function requestBody(value: unknown): RequestBody | undefined {
  if (value == null) return undefined;
  if (value === 'request' || typeof value === 'string' || value instanceof Uint8Array) return value as RequestBody;
  if (typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function') {
    return value as Readable;
  }
  throw invalid("body must be 'request', a string, a Buffer/Uint8Array or a Readable stream");
}

const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** RFC 9110 §5.5 field-value: no CR, LF, NUL or other controls. */
export function isFieldValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

export function resolveCallOptions(options: ProxyCallOptions | undefined, base: ResolvedProxyOptions): ResolvedCall {
  const o = options ?? {};
  if (typeof o !== 'object') throw invalid('options must be an object or an onHeaders function');
  const signal = o.signal;
  if (signal != null && !(signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
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
  };
}

function useCache(value: unknown, base: ResolvedProxyOptions): boolean {
  if (value == null) return base.cache !== undefined;
  if (typeof value !== 'boolean') throw invalid(`cache must be true or false for a call, got ${String(value)}`);
  if (value && !base.cache) throw invalid('cache: true needs a cache configured on the proxy (the cache option of handoff()/createProxy())');
  return value;
}

/** RFC 9112 §3.2.1 origin-form, as undici will send it: '/', then visible ASCII without '#'. */
const ORIGIN_FORM = /^\/[\x21-\x22\x24-\x7e]*$/;

function requestTarget(value: unknown): string {
  if (typeof value !== 'string' || !ORIGIN_FORM.test(value)) {
    throw invalid(`path must be an origin-form request target ('/' then visible ASCII, no '#'), got ${JSON.stringify(value)}`);
  }
  return value;
}

function method(value: unknown): string {
  const name = String(value);
  if (!isToken(name)) throw invalid(`method is not a valid HTTP method: ${JSON.stringify(name)}`);
  const upper = name.toUpperCase();
  if (upper === 'CONNECT') throw invalid('method CONNECT cannot be proxied');
  return upper;
}

export function resolveUrl(url: unknown): URL {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(String(url));
  } catch (cause) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `Upstream URL is not a valid absolute URL: ${String(url)}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`Upstream URL must be http: or https:, got ${parsed.protocol}`);
  }
  if (parsed.username || parsed.password) {
    throw invalid('Upstream URL must not carry credentials; pass an authorization header instead');
  }
  return parsed;
}
