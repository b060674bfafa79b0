import type { ProxyMode } from '../types';

/** Every option's default, in one place. */
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
  requestBuffer: 64 * 1024,
  requestBufferTotal: 64 * 1024 * 1024,
  /** Kestrel's defaults: 240 bytes/s each way, after a 5 s grace period. */
  minDataRate: { request: 240, response: 240, grace: 5_000 },
};

/** `close()`'s default deadline for in-flight transfers, in ms. */
export const DEFAULT_CLOSE_TIMEOUT = 30_000;

/** How long proxy.ready() waits for Redis by default. */
export const DEFAULT_READY_TIMEOUT = 10_000;
