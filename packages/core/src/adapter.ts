// What the framework adapters share, so that each stays a translation of its framework's
// context into the core's call.
import { validateOffloadRules, type OffloadRules } from './offload/rules';
import { createProxy, type HandoffProxy } from './proxy';
import type { CloseOptions, OnHeaders, ProxyCallOptions, ProxyHandle, ProxyOptions } from './types';

/** `proxyFetch(url, optionsOrOnHeaders?)`, as every adapter installs it. */
export type ProxyFetch = (url: string | URL, optionsOrOnHeaders?: ProxyCallOptions | OnHeaders) => Promise<ProxyHandle>;

/** The call options of `proxyFetch(url, optionsOrOnHeaders?)`: a function alone is the `onHeaders` hook. */
export function callOptions(optionsOrOnHeaders: ProxyCallOptions | OnHeaders | undefined): ProxyCallOptions | undefined {
  return typeof optionsOrOnHeaders === 'function' ? { onHeaders: optionsOrOnHeaders } : optionsOrOnHeaders;
}

/** What an adapter's middleware carries: the proxy behind it, for stats and shutdown. */
export interface WithProxy {
  readonly proxy: HandoffProxy;
  /**
   * Stops admitting, drains in-flight transfers until the deadline, aborts the rest. A
   * proxy the middleware was given (`offload({ proxy })`) is left to its owner to close.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** Gives a middleware its proxy and `close`; `owned: false` (a proxy it was given) leaves closing it to its owner. */
export function withProxy<M extends object>(middleware: M, proxy: HandoffProxy, owned = true): M & WithProxy {
  return Object.assign(middleware, {
    proxy,
    close: (closeOptions?: CloseOptions) => (owned ? proxy.close(closeOptions) : Promise.resolve()),
  });
}

export interface OffloadOptions extends OffloadRules {
  /** The engine offloads run through: a Proxy (e.g. `handoff().proxy`, sharing its gate), or options for one of its own. */
  proxy?: HandoffProxy | ProxyOptions;
}

/** What an `offload()` middleware performs instructions with. */
export interface OffloadEngine {
  readonly proxy: HandoffProxy;
  readonly rules: OffloadRules;
  /** Whether the middleware created the proxy (and closes it). */
  readonly owned: boolean;
}

/** The proxy given, or one of the middleware's own, and the rules, validated (throws HANDOFF_INVALID_OPTIONS). */
export function offloadEngine(options: OffloadOptions): OffloadEngine {
  const { proxy: given, ...rules } = options;
  const owned = !isProxy(given);
  const proxy = isProxy(given) ? given : createProxy(given);
  validateOffloadRules(rules);
  return { proxy, rules, owned };
}

/** A Proxy from any installed copy of @handoff/core (so not `instanceof`). */
function isProxy(value: HandoffProxy | ProxyOptions | undefined): value is HandoffProxy {
  return typeof (value as HandoffProxy | undefined)?.offload === 'function' && typeof (value as HandoffProxy).fetch === 'function';
}
