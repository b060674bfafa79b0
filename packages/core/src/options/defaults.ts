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
};

/** `close()`'s default deadline for in-flight transfers, in ms. */
export const DEFAULT_CLOSE_TIMEOUT = 30_000;
