import { Agent, type Dispatcher } from 'undici';
import { HttpCache } from './cache/http-cache';
import { ProxyError } from './errors';
import type { ConcurrencyGate } from './gate/admission';
import { Gate } from './gate/gate';
import { SharedGate } from './gate/shared-gate';
import type { ResolvedCall, ResolvedProxyOptions } from './options/resolve';
import { TransferList } from './transfer/list';
import type { TransferHost } from './transfer/host';
import type { Transfer } from './transfer/transfer';
import type { ProxyStats } from './types';
import { AllowPolicy } from './upstream/allow';
import { upstreamConnector } from './upstream/connector';
import { interimResponses } from './upstream/interim';
import { notModifiedLength } from './upstream/not-modified';

/**
 * The upstream socket's highWaterMark: Node's 16 KiB rather than the 64 KiB undici sets for
 * plain TCP. Reads never run ahead of a paused parser either way (upstream/connector.ts).
 */
const UPSTREAM_HIGH_WATER_MARK = 16 * 1024;

/**
 * What every transfer of one proxy shares: the gate, the dispatchers, the allow-list, the
 * cache, and the list of transfers not settled yet. Internal: users hold a HandoffProxy.
 */
export class Engine implements TransferHost<Transfer> {
  readonly options: ResolvedProxyOptions;
  readonly gate: ConcurrencyGate;
  readonly #shared: SharedGate | undefined;
  readonly allow: AllowPolicy | undefined;
  readonly cache: HttpCache | undefined;
  /** The dispatcher requests go through: the base one, composed with undici fixes (withFixes). */
  readonly dispatcher: Dispatcher;
  readonly #base: Dispatcher;
  readonly #owned: boolean;
  readonly #transfers = new TransferList<Transfer>();
  #strict: { agent: Agent; dispatcher: Dispatcher } | undefined;
  #buffered = 0;
  #closed: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  #upstreamSockets = 0;

  constructor(options: ResolvedProxyOptions) {
    this.options = options;
    const { concurrency, maxQueue, queueTimeout } = options;
    this.#shared = options.gate ? new SharedGate(concurrency, maxQueue, queueTimeout, options.gate) : undefined;
    this.gate = this.#shared ?? new Gate(concurrency, maxQueue, queueTimeout);
    this.allow = options.allow ? new AllowPolicy(options.allow) : undefined;
    this.#owned = !options.dispatcher;
    // The owned Agent's connect timeout is the default one; a per-call connectTimeout is
    // enforced by the exchange's own timer, so it can only shorten it.
    this.#base = this.#watch(options.dispatcher ?? ownedAgent(options.connectTimeout, this.allow?.lookup));
    this.dispatcher = withFixes(this.#base);
    this.cache = options.cache ? new HttpCache(this.dispatcher, options.cache) : undefined;
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
    if (this.#shared) stats.gate = this.#shared.stats;
    return stats;
  }

  reserveBuffer(bytes: number): boolean {
    if (this.#buffered + bytes > this.options.requestBufferTotal) return false;
    this.#buffered += bytes;
    return true;
  }

  releaseBuffer(bytes: number): void {
    this.#buffered -= bytes;
  }

  start(transfer: Transfer): void {
    this.#transfers.add(transfer);
    transfer.begin();
  }

  settled(transfer: Transfer): void {
    this.#transfers.delete(transfer);
    if (this.#transfers.size === 0) this.#idle?.();
  }

  connectTimer(call: ResolvedCall): number {
    // The proxy's own Agent enforces the default connect timeout itself; a timer is needed
    // only for a shorter per-call value or a dispatcher the caller owns.
    const { connectTimeout } = call;
    return connectTimeout > 0 && (!this.#owned || connectTimeout < this.options.connectTimeout) ? connectTimeout : 0;
  }

  /**
   * Targets allowed by a predicate may never resolve to a private address, and the check
   * must be on the address connected to: with its own dispatcher, the proxy keeps a second
   * Agent whose lookup refuses them (made on first use).
   */
  dispatcherFor(policy: AllowPolicy | undefined): Dispatcher {
    if (!policy?.isPredicate || !this.#owned) return this.dispatcher;
    if (!this.#strict) {
      const agent = this.#watch(ownedAgent(this.options.connectTimeout, policy.lookup));
      this.#strict = { agent, dispatcher: withFixes(agent) };
    }
    return this.#strict.dispatcher;
  }

  /** Resolves once the Redis connections the proxy uses are in place; rejects after `timeout` ms (0: waits as long as it takes). */
  async ready(timeout: number): Promise<void> {
    const pending = new Set<'cache' | 'gate'>();
    const track = (name: 'cache' | 'gate', connected: Promise<void> | undefined) => {
      if (!connected) return undefined;
      pending.add(name);
      return connected.then(() => void pending.delete(name));
    };
    const connected = Promise.all([track('cache', this.cache?.ready()), track('gate', this.#shared?.ready())]);
    if (timeout === 0) return void (await connected);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const names = [...pending].map((name) => (name === 'cache' ? 'the cache store' : 'the shared gate')).join(' and ');
        const code = pending.has('gate') ? 'HANDOFF_GATE_UNAVAILABLE' : 'HANDOFF_CACHE_STORE';
        reject(new ProxyError(code, `Redis not connected within ${timeout} ms (proxy.ready): ${names}`));
      }, timeout);
    });
    try {
      await Promise.race([connected, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(timeout: number): Promise<void> {
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
    for (const dispatcher of [this.#base, this.#strict?.agent]) {
      dispatcher?.off('connect', this.#onConnect);
      dispatcher?.off('disconnect', this.#onDisconnect);
    }
    if (this.#owned) await this.#base.close();
    await this.#strict?.agent.close();
    await this.cache?.close();
    await this.gate.close();
  }

  #watch<T extends Dispatcher>(dispatcher: T): T {
    dispatcher.on('connect', this.#onConnect);
    dispatcher.on('disconnect', this.#onDisconnect);
    return dispatcher;
  }

  readonly #onConnect = (): void => {
    this.#upstreamSockets++;
  };

  readonly #onDisconnect = (): void => {
    this.#upstreamSockets--;
  };
}

/**
 * Composed innermost, under the cache: 1xx responses go to the attempt that sent the
 * request, not up the handler chain (upstream/interim.ts), and a 304 with Content-Length
 * ends cleanly (upstream/not-modified.ts).
 */
function withFixes(dispatcher: Dispatcher): Dispatcher {
  return dispatcher.compose(interimResponses, notModifiedLength);
}

/** An Agent the proxy owns. With an allow-list, its lookup checks the very addresses it connects to. */
function ownedAgent(timeout: number, lookup: AllowPolicy['lookup'] | undefined): Agent {
  const connect = upstreamConnector({ timeout, highWaterMark: UPSTREAM_HIGH_WATER_MARK, ...(lookup ? { lookup } : {}) });
  return new Agent({ connect });
}
