import type { FastifyPluginCallback, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import {
  callOptions,
  createProxy,
  validateOffloadRules,
  DEFAULTS,
  ProxyError,
  type HandoffProxy,
  type OffloadRequest,
  type OnHeaders,
  type ProxyCallOptions,
  type ProxyFetch,
  type ProxyHandle,
} from '@handoff/core';
import { handOff } from './hand-off';
import { installOffload } from './offload';
import { splitOptions, type HandoffPluginOptions } from './options';

export {
  ProxyError,
  isProxyError,
  type CloseOptions,
  type ErrorAnswer,
  type OnComplete,
  type OnError,
  type OnHeaders,
  type ProxyCallOptions,
  type ProxyFetch,
  type ProxyHandle,
  type ProxyMode,
  type ProxyOptions,
  type ProxyOutcome,
  type ProxyStats,
  type ResponseHead,
  type OffloadKind,
  type OffloadRequest,
  type OffloadRules,
  DEFAULT_KEEP_HEADERS,
} from '@handoff/core';
export type { HandoffPluginOptions } from './options';
export { passThroughBodies } from './bodies';

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Hands the response off to `url`: `reply.hijack()`, and resolves as soon as the proxy
     * owns the response while the bytes still flow. Rejects before the hijack for bad
     * arguments, so `return reply.proxyFetch(…)` lets Fastify answer them.
     */
    proxyFetch: ProxyFetch;
    /**
     * Offloads this response without headers: sends `{ url, method?, headers?, body? }` (checked
     * against the plugin's `offload` rules) and streams its answer, as for an Offload-Url.
     */
    offload(request: OffloadRequest): Promise<ProxyHandle>;
  }
  interface FastifyInstance {
    /** The proxy behind `reply.proxyFetch`, for stats; it is closed by `app.close()`. */
    readonly handoff: HandoffProxy;
  }
}

/**
 * The plugin: `app.register(handoff, options)` decorates `reply.proxyFetch` and
 * `reply.offload` on the whole app (fastify-plugin: no encapsulation) and closes the
 * proxy when the app closes.
 */
const plugin: FastifyPluginCallback<HandoffPluginOptions> = (app, options, done) => {
  let proxy: HandoffProxy;
  let split: ReturnType<typeof splitOptions>;
  try {
    split = splitOptions(options as Record<string, unknown>);
    if (split.offload !== undefined) validateOffloadRules(split.offload);
    proxy = createProxy(split.proxy);
  } catch (err) {
    // Thrown, it would escape avvio and leave the plugin never started.
    return done(err as Error);
  }
  const { proxy: proxyOptions, closeTimeout, offload } = split;
  const mode = proxyOptions.mode ?? DEFAULTS.mode;

  app.decorate('handoff', proxy);
  app.decorateReply('proxyFetch', function proxyFetch(this: FastifyReply, url: string | URL, optionsOrOnHeaders?: ProxyCallOptions | OnHeaders) {
    const call = callOptions(optionsOrOnHeaders);
    return handOff(this, call, mode, () => proxy.fetch(this.request.raw, this.raw, url, call));
  });
  app.decorateReply('offload', function offloadReply(this: FastifyReply, request: OffloadRequest) {
    if (!offload) return Promise.reject(new ProxyError('HANDOFF_INVALID_OPTIONS', 'reply.offload() needs the handoff plugin registered with { offload: rules }', { option: 'offload' }));
    if (typeof request !== 'object' || request === null) return Promise.reject(new ProxyError('HANDOFF_INVALID_OPTIONS', 'reply.offload() needs { url, method?, headers?, body? }'));
    return handOff(this, undefined, mode, () => proxy.offload(this.request.raw, this.raw, request, { offload }));
  });
  if (offload) installOffload(app, proxy, offload, mode);
  // preClose, not onClose: onClose runs once every connection has ended, so the shutdown
  // deadline would never apply to a transfer still running.
  app.addHook('preClose', () => proxy.close(closeTimeout === undefined ? {} : { timeout: closeTimeout }));
  done();
};

export const handoff = fp(plugin, { fastify: '5.x', name: '@handoff/fastify' });
export default handoff;
