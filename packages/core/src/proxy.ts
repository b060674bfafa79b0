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
import { Transfer, type ProxyHandle, type TransferHost } from './transfer';
import { AllowPolicy } from './upstream/allow';

/** Counters for tests and operators. */
/**
 * How much an upstream socket reads ahead while its transfer waits for a slow client.
 * undici opens plain TCP sockets with 64 KiB (its TLS sockets already use 16 KiB); with
 * Node's own 16 KiB default a stalled stream holds ~114 KiB instead of ~141 KiB
 * (bench/profiles.md), for a few percent more CPU per GiB on fast transfers.
 */
const UPSTREAM_READ_AHEAD = 16 * 1024;

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
  #transfers = new Set<Transfer>();
  #closed: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  #upstreamSockets = 0;

  constructor(options: ProxyOptions = {}) {
    this.options = resolveProxyOptions(options);
    const { concurrency, maxQueue, queueTimeout, connectTimeout } = this.options;
    this.gate = new Gate(concurrency, maxQueue, queueTimeout);
    this.allow = this.options.allow ? new AllowPolicy(this.options.allow) : undefined;
    this.ownsDispatcher = !this.options.dispatcher;
    // The owned Agent's connect timeout is the default one; a per-call connectTimeout
    // is enforced by the transfer's own timer, so it can only shorten it. With an
    // allow-list, its lookup checks the very addresses it connects to.
    // (highWaterMark reaches net.Socket through undici's connector; its types omit it.)
    const connect = { timeout: connectTimeout, highWaterMark: UPSTREAM_READ_AHEAD, ...(this.allow ? { lookup: this.allow.lookup } : {}) };
    this.dispatcher = this.options.dispatcher ?? new Agent({ connect });
    this.dispatcher.on('connect', this.#onConnect);
    this.dispatcher.on('disconnect', this.#onDisconnect);
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
    if (call.mode === 'socket' && (req.httpVersionMajor !== 1 || !req.socket || typeof req.socket.write !== 'function')) {
      throw new ProxyError(
        'HANDOFF_INVALID_OPTIONS',
        `mode 'socket' needs an HTTP/1.x connection; this request came over HTTP/${req.httpVersion}. Use mode 'response'.`,
      );
    }
    if (res.headersSent) {
      throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'The response has already been started; nothing can be proxied into it');
    }
    const transfer = new Transfer(this, req, res, target, call);
    this.#transfers.add(transfer);
    transfer.begin();
    return transfer;
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
      for (const transfer of [...this.#transfers]) transfer.shutdown();
      await Promise.all([...this.#transfers].map((t) => t.done));
    }
    this.dispatcher.off('connect', this.#onConnect);
    this.dispatcher.off('disconnect', this.#onDisconnect);
    if (this.ownsDispatcher) await this.dispatcher.close();
    await this.cache?.close();
  }

  #onConnect = (): void => {
    this.#upstreamSockets++;
  };

  #onDisconnect = (): void => {
    this.#upstreamSockets--;
  };
}

export function createProxy(options?: ProxyOptions): Proxy {
  return new Proxy(options);
}
