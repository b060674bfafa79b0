import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { HttpCache, type CacheStats } from './cache/http-cache';
import { ProxyError, describeTarget } from './errors';
import { Gate } from './gate/gate';
import {
  resolveCallOptions,
  resolveProxyOptions,
  resolveUrl,
  type ProxyCallOptions,
  type ProxyOptions,
  type ResolvedProxyOptions,
} from './options';
import { hasOffloadInstruction } from './offload/instruction';
import { discard, isOffloadRequest, readStart, type OffloadRequest, type OffloadResponse } from './offload/start';
import { TransferList } from './transfer-list';
import { Transfer, type ProxyHandle, type TransferHost } from './transfer';
import { AllowPolicy } from './upstream/allow';
import { upstreamConnector } from './upstream/connector';

/**
 * The upstream socket's highWaterMark: Node's 16 KiB rather than the 64 KiB undici sets for
 * plain TCP. Reads never run ahead of a paused parser either way (upstream/connector.ts).
 */
const UPSTREAM_HIGH_WATER_MARK = 16 * 1024;

/** Counters for tests and operators. */
export interface ProxyStats {
  /** Transfers holding a concurrency slot. */
  inFlight: number;
  /** Transfers waiting for a slot. */
  queued: number;
  /** Upstream connections open in the dispatcher (as reported by its connect/disconnect events). */
  upstreamSockets: number;
  closing: boolean;
  /** Present when the proxy has a cache. */
  cache?: CacheStats;
}

export interface CloseOptions {
  /** ms in-flight transfers may keep running before they are aborted; default 30 000. */
  timeout?: number;
}

const DEFAULT_CLOSE_TIMEOUT = 30_000;

/**
 * The engine: a gate, a dispatcher and the transfers running through them.
 * Framework adapters call `fetch(req, res, url, options)`.
 */
export class Proxy implements TransferHost {
  readonly options: ResolvedProxyOptions;
  readonly gate: Gate;
  readonly dispatcher: Dispatcher;
  readonly allow: AllowPolicy | undefined;
  readonly ownsDispatcher: boolean;
  readonly cache: HttpCache | undefined;
  #transfers = new TransferList<Transfer>();
  #closed: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  #upstreamSockets = 0;
  #strictAgent: Agent | undefined;

  constructor(options: ProxyOptions = {}) {
    this.options = resolveProxyOptions(options);
    const { concurrency, maxQueue, queueTimeout, connectTimeout } = this.options;
    this.gate = new Gate(concurrency, maxQueue, queueTimeout);
    this.allow = this.options.allow ? new AllowPolicy(this.options.allow) : undefined;
    this.ownsDispatcher = !this.options.dispatcher;
    // The owned Agent's connect timeout is the default one; a per-call connectTimeout
    // is enforced by the transfer's own timer, so it can only shorten it.
    this.dispatcher = this.options.dispatcher ?? ownedAgent(connectTimeout, this.allow?.lookup);
    this.#watch(this.dispatcher);
    this.cache = this.options.cache ? new HttpCache(this.dispatcher, this.options.cache) : undefined;
  }

  get closing(): boolean {
    return this.#closed !== undefined;
  }

  get stats(): ProxyStats {
    const stats: ProxyStats = {
      inFlight: this.gate.inFlight,
      queued: this.gate.queued,
      upstreamSockets: this.#upstreamSockets,
      closing: this.closing,
    };
    if (this.cache) stats.cache = this.cache.stats;
    return stats;
  }

  /**
   * Proxies `url` into `res`. Throws a ProxyError (HANDOFF_INVALID_OPTIONS) for bad
   * arguments before touching the response; otherwise the proxy owns the response
   * from the moment this returns, and the handle's `done` tells how it ended.
   */
  fetch(req: IncomingMessage, res: ServerResponse, url: string | URL, options?: ProxyCallOptions): ProxyHandle {
    const target = resolveUrl(url);
    const call = resolveCallOptions(options, this.options);
    this.allow?.check(target, describeTarget(call.method, target));
    this.#check(req, res, call.mode);
    const transfer = new Transfer(this, req, res, target, call);
    return this.#start(transfer);
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
    const call = resolveCallOptions(options, this.options);
    if (!call.offload) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'proxy.offload() needs the offload rules in options.offload');
    if (call.body !== undefined) {
      throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'proxy.offload() takes the body from its source, not from options.body');
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
    this.#check(req, res, call.mode);
    const transfer = Transfer.fromOffload(this, req, res, readStart(source, call.offload), call);
    return this.#start(transfer);
  }

  #check(req: IncomingMessage, res: ServerResponse, mode: string): void {
    if (mode === 'socket' && (req.httpVersionMajor !== 1 || !req.socket || typeof req.socket.write !== 'function')) {
      throw new ProxyError(
        'HANDOFF_INVALID_OPTIONS',
        `mode 'socket' needs an HTTP/1.x connection; this request came over HTTP/${req.httpVersion}. Use mode 'response'.`,
      );
    }
    if (res.headersSent) {
      throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'The response has already been started; nothing can be proxied into it');
    }
  }

  #start(transfer: Transfer): Transfer {
    this.#transfers.add(transfer);
    transfer.begin();
    return transfer;
  }

  /**
   * Targets allowed by a predicate may never resolve to a private address, and the
   * check must be on the address connected to: with its own dispatcher, the proxy
   * keeps a second Agent whose lookup refuses them (made on first use).
   */
  dispatcherFor(policy: AllowPolicy | undefined): Dispatcher {
    if (!policy?.isPredicate || !this.ownsDispatcher) return this.dispatcher;
    this.#strictAgent ??= this.#watch(
      ownedAgent(this.options.connectTimeout, policy.lookup),
    );
    return this.#strictAgent;
  }

  #watch<T extends Dispatcher>(dispatcher: T): T {
    dispatcher.on('connect', this.#onConnect);
    dispatcher.on('disconnect', this.#onDisconnect);
    return dispatcher;
  }

  settled(transfer: Transfer): void {
    this.#transfers.delete(transfer);
    if (this.#transfers.size === 0) this.#idle?.();
  }

  /**
   * Stops admitting (new calls and queued ones answer 503), lets in-flight
   * transfers finish until `timeout`, aborts the rest, then closes the owned
   * dispatcher. Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const timeout = options.timeout ?? DEFAULT_CLOSE_TIMEOUT;
    if (!Number.isInteger(timeout) || timeout < 0) {
      return Promise.reject(
        new ProxyError('HANDOFF_INVALID_OPTIONS', `close timeout must be an integer >= 0, got ${String(timeout)}`),
      );
    }
    this.#closed ??= this.#close(timeout);
    return this.#closed;
  }

  async #close(timeout: number): Promise<void> {
    this.gate.rejectAll(() => new ProxyError('HANDOFF_CLOSED', 'Proxy is shutting down'));
    if (this.#transfers.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        timer = setTimeout(resolve, timeout);
      });
      clearTimeout(timer);
      const remaining = this.#transfers.toArray();
      for (const transfer of remaining) transfer.shutdown();
      await Promise.all(remaining.map((t) => t.done));
    }
    for (const dispatcher of [this.dispatcher, this.#strictAgent]) {
      dispatcher?.off('connect', this.#onConnect);
      dispatcher?.off('disconnect', this.#onDisconnect);
    }
    if (this.ownsDispatcher) await this.dispatcher.close();
    await this.#strictAgent?.close();
    await this.cache?.close();
  }

  #onConnect = (): void => {
    this.#upstreamSockets++;
  };

  #onDisconnect = (): void => {
    this.#upstreamSockets--;
  };
}

/**
 * An Agent the proxy owns. With an allow-list, its lookup checks the very addresses it
 * connects to.
 */
function ownedAgent(timeout: number, lookup: AllowPolicy['lookup'] | undefined): Agent {
  const connect = upstreamConnector({ timeout, highWaterMark: UPSTREAM_HIGH_WATER_MARK, ...(lookup ? { lookup } : {}) });
  return new Agent({ connect });
}

export function createProxy(options?: ProxyOptions): Proxy {
  return new Proxy(options);
}
