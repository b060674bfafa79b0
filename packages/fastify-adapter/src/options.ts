import { MAX_DELAY, ProxyError, type OffloadRules, type ProxyOptions } from '@handoff/core';

/** What `app.register(handoff, options)` takes: the proxy's options, and two of the plugin's own. */
export interface HandoffPluginOptions extends ProxyOptions {
  /** ms in-flight transfers get to finish once `app.close()` is called, before they are aborted (default 30 000). */
  closeTimeout?: number;
  /**
   * Offload rules: with them, a response carrying `Offload-Url`, `X-Accel-Redirect` or
   * `X-Sendfile` is performed instead of sent (an `onSend` hook), and `reply.offload()` works.
   */
  offload?: OffloadRules;
}

// Every key the plugin takes: `satisfies` fails the build when ProxyOptions gains one not listed here.
const KNOWN = {
  closeTimeout: true,
  offload: true,
  concurrency: true,
  maxQueue: true,
  queueTimeout: true,
  retryAfter: true,
  requestBufferTotal: true,
  xForwarded: true,
  dispatcher: true,
  allow: true,
  cache: true,
  gate: true,
  queue: true,
  connectTimeout: true,
  headersTimeout: true,
  bodyTimeout: true,
  rateLimit: true,
  mode: true,
  forwardHeaders: true,
  followRedirects: true,
  maxBodySize: true,
  requestBuffer: true,
  minDataRate: true,
} satisfies Record<keyof HandoffPluginOptions, true>;

/** Keys Fastify itself adds to the options of every plugin it registers. */
const FASTIFY_KEYS = new Set(['prefix', 'logLevel', 'logSerializers']);

/** The plugin's options split: Fastify's own keys dropped, unknown keys refused by name. */
export function splitOptions(options: Record<string, unknown> | undefined): {
  proxy: ProxyOptions;
  closeTimeout: number | undefined;
  offload: OffloadRules | undefined;
} {
  const proxy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (FASTIFY_KEYS.has(key) || key === 'closeTimeout' || key === 'offload') continue;
    if (!Object.prototype.hasOwnProperty.call(KNOWN, key)) {
      throw new ProxyError('HANDOFF_INVALID_OPTIONS', `Unknown option for the handoff plugin: ${key}`, { option: key });
    }
    proxy[key] = value;
  }
  const closeTimeout = options?.closeTimeout;
  if (closeTimeout != null && (typeof closeTimeout !== 'number' || !Number.isInteger(closeTimeout) || closeTimeout < 0 || closeTimeout > MAX_DELAY)) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `closeTimeout must be an integer from 0 to ${MAX_DELAY} ms, got ${String(closeTimeout)}`, { option: 'closeTimeout' });
  }
  return {
    proxy: proxy as ProxyOptions,
    closeTimeout: closeTimeout ?? undefined,
    offload: options?.offload as OffloadRules | undefined,
  };
}
