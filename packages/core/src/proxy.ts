import type { IncomingMessage, ServerResponse } from 'node:http';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { Engine } from './engine';
import { ProxyError, describeTarget } from './errors';
import { buildRequestHeaders } from './headers/request-headers';
import { hasOffloadInstruction } from './offload/instruction';
import { discard, isOffloadRequest, readStart, type OffloadRequest, type OffloadResponse } from './offload/start';
import { DEFAULT_CLOSE_TIMEOUT, DEFAULT_READY_TIMEOUT } from './options/defaults';
import { resolveCallOptions, resolveProxyOptions, resolveUrl } from './options/resolve';
import { duration } from './options/values';
import { TransferHandle } from './transfer/handle';
import { deferredRequest } from './transfer/overflow';
import { Transfer } from './transfer/transfer';
import type { CloseOptions, LaterOptions, ProxyCallOptions, ProxyHandle, ProxyOptions, ProxyOutcome, ProxyStats } from './types';

/**
 * The proxy: a concurrency gate, a dispatcher, and the transfers running through them.
 * Framework adapters call `fetch(req, res, url, options)` or `offload(…)`.
 */
export class HandoffProxy {
  readonly #engine: Engine;

  /** Validates `options` (throwing HANDOFF_INVALID_OPTIONS naming the option) and makes the dispatcher it owns. */
  constructor(options: ProxyOptions = {}) {
    this.#engine = new Engine(resolveProxyOptions(options));
  }

  /** Counters for tests and operators: `{ inFlight, queued, upstreamSockets, closing, cache? }`. */
  get stats(): ProxyStats {
    return this.#engine.stats;
  }

  /**
   * Proxies `url` into `res`. Throws a ProxyError (HANDOFF_INVALID_OPTIONS) for bad
   * arguments before touching the response; otherwise the proxy owns the response
   * from the moment this returns, and the handle's `done` tells how it ended.
   */
  fetch(req: IncomingMessage, res: ServerResponse, url: string | URL, options?: ProxyCallOptions): ProxyHandle {
    const engine = this.#engine;
    const target = resolveUrl(url);
    const call = resolveCallOptions(options, engine.options);
    engine.allow?.check(target, describeTarget(call.method, target));
    check(req, res, call.mode);
    const transfer = new Transfer(engine, req, res, target, call);
    engine.start(transfer);
    return new TransferHandle(transfer);
  }

  /**
   * Performs an offload instruction without asking an upstream first: a typed
   * `{ url, method?, headers?, body? }`, or a handler's response `{ headers, body? }`
   * carrying instruction headers (its body is forwarded or destroyed). Bad instructions
   * are answered like any failure (see `handle.done`); it throws HANDOFF_INVALID_OPTIONS
   * only for bad arguments, before touching the response.
   */
  offload(
    req: IncomingMessage,
    res: ServerResponse,
    source: OffloadRequest | OffloadResponse,
    options: ProxyCallOptions & { offload: NonNullable<ProxyCallOptions['offload']> },
  ): ProxyHandle {
    const engine = this.#engine;
    const call = resolveCallOptions(options, engine.options);
    if (!call.offload) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'proxy.offload() needs the offload rules in options.offload', { option: 'offload' });
    if (call.body !== undefined) {
      throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'proxy.offload() takes the body from its source, not from options.body', { option: 'body' });
    }
    if (typeof source !== 'object' || source === null) {
      throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'proxy.offload() needs { url, … } or a response { headers, body? }');
    }
    if (!isOffloadRequest(source) && !source.request && !hasOffloadInstruction(source.headers ?? {})) {
      discard(source.body);
      throw new ProxyError(
        'HANDOFF_INVALID_OPTIONS',
        'The response given to proxy.offload() carries no offload instruction (Offload-Requested, X-Accel-Redirect or X-Sendfile)',
      );
    }
    check(req, res, call.mode);
    const transfer = new Transfer(engine, req, res, NO_URL, call, readStart(source, call.offload));
    engine.start(transfer);
    return new TransferHandle(transfer);
  }

  /**
   * An undici Dispatcher for the app's own outgoing requests through this proxy's cache:
   * `undici.request(url, { dispatcher: proxy.cachedDispatcher })` or `fetch(url, { dispatcher })`.
   * The same store, RFC 9111 rules (a shared cache) and coalescing as `fetch()`; responses carry
   * `x-cache`, counted in `stats.cache`. Throws HANDOFF_INVALID_OPTIONS without a cache.
   */
  get cachedDispatcher(): Dispatcher {
    const cache = this.#engine.cache;
    if (!cache) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'proxy.cachedDispatcher needs the proxy’s cache option (createProxy({ cache }))', { option: 'cache' });
    return cache.callerDispatcher;
  }

  /** `fetch(input, init)` through `cachedDispatcher` (undici's fetch: the Response has `x-cache`). */
  cachedFetch(input: string | URL, init: Omit<RequestInit, 'dispatcher'> = {}): Promise<Response> {
    return undiciFetch(input, { ...(init as object), dispatcher: this.cachedDispatcher }) as unknown as Promise<Response>;
  }

  /**
   * Stores the request for later delivery to `url` through the proxy's `queue`, which answers
   * the client: 202 once the store has committed it, 503 with Retry-After when it could not.
   * The stored request is what `fetch()` would send: the same header policy, and the client's
   * body unless `options.body` says otherwise. Throws HANDOFF_INVALID_OPTIONS for bad
   * arguments (or no queue) before touching the response; the promise never rejects.
   */
  later(req: IncomingMessage, res: ServerResponse, url: string | URL, options?: LaterOptions): Promise<ProxyOutcome> {
    const engine = this.#engine;
    const queue = engine.options.queue;
    if (!queue) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'proxy.later() needs a queue configured on the proxy (the queue option)', { option: 'queue' });
    const target = resolveUrl(url);
    const call = resolveCallOptions({ ...options, body: options?.body ?? 'request' }, engine.options);
    engine.allow?.check(target, describeTarget(call.method, target));
    check(req, res, 'response');
    return queue.accept(req, res, deferredRequest(req, call, target, engine.options));
  }

  /**
   * The headers `fetch(req, res, url, options)` would send upstream: the client's allowed
   * fields, X-Forwarded-*, then the call's own. For code that forwards a request itself.
   */
  forwardedHeaders(req: IncomingMessage, options?: ProxyCallOptions): Record<string, string | string[]> {
    const engine = this.#engine;
    return buildRequestHeaders(req, resolveCallOptions(options, engine.options), engine.options);
  }

  /**
   * Resolves once every Redis connection the proxy uses is in place: the cache store's
   * and the fleet lock's subscription (until then, misses are coalesced per instance
   * only), the shared gate's and its subscription. Rejects after `timeout` ms (default
   * 10 000; 0 waits as long as it takes) with HANDOFF_GATE_UNAVAILABLE when the gate is
   * not connected, else HANDOFF_CACHE_STORE. At once without Redis. Listen after it to
   * start as a full member of a fleet.
   */
  ready(options: { timeout?: number } = {}): Promise<void> {
    return withDuration(options.timeout, 'ready timeout', DEFAULT_READY_TIMEOUT, (timeout) => this.#engine.ready(timeout));
  }

  /**
   * Stops admitting (new calls and queued ones answer 503), lets in-flight transfers
   * finish until `timeout` (ms, default 30 000), aborts the rest, then closes the
   * dispatcher it owns. Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    return withDuration(options.timeout, 'close timeout', DEFAULT_CLOSE_TIMEOUT, (timeout) => this.#engine.close(timeout));
  }
}

/** Runs `run` with a validated duration option; an invalid one rejects the promise instead of throwing. */
function withDuration(value: unknown, name: string, fallback: number, run: (ms: number) => Promise<void>): Promise<void> {
  let ms: number;
  try {
    ms = duration(value, name, fallback);
  } catch (err) {
    return Promise.reject(err);
  }
  return run(ms);
}

/** The URL of a transfer that starts from an instruction: never asked, the instruction names its target. */
const NO_URL = new URL('about:blank');

/** Responses a transfer (or the queue) has taken: each is handed off once. */
const handedOff = new WeakSet<ServerResponse>();

/** Refuses a response that cannot be handed off, and marks one that can as taken. */
function check(req: IncomingMessage, res: ServerResponse, mode: string): void {
  if (mode === 'socket' && (req.httpVersionMajor !== 1 || !req.socket || typeof req.socket.write !== 'function')) {
    throw new ProxyError(
      'HANDOFF_INVALID_OPTIONS',
      `mode 'socket' needs an HTTP/1.x connection; this request came over HTTP/${req.httpVersion}. Use mode 'response'.`,
      { option: 'mode' },
    );
  }
  if (res.headersSent) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'The response has already been started; nothing can be proxied into it');
  }
  if (handedOff.has(res)) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'The response was already handed off (proxyFetch, offload or proxyLater ran for it); a response is handed off once');
  }
  handedOff.add(res);
}

/** A proxy with these options (see HandoffProxy). */
export function createProxy(options?: ProxyOptions): HandoffProxy {
  return new HandoffProxy(options);
}
