import type { Context, Middleware } from 'koa';
import {
  ProxyError,
  callOptions,
  createProxy,
  withProxy,
  type LaterOptions,
  type OnHeaders,
  type HandoffProxy,
  type ProxyCallOptions,
  type ProxyFetch,
  type ProxyHandle,
  type ProxyOptions,
  type ProxyOutcome,
  type WithProxy,
} from '@handoff/core';

export {
  ProxyError,
  expectContinue,
  isProxyError,
  type CacheOptions,
  type CacheStats,
  type CacheStatus,
  type CloseOptions,
  type ErrorAnswer,
  type LaterOptions,
  type RequestQueue,
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
  type RedisStoreOptions,
  type ResponseHead,
  type OffloadKind,
  type OffloadRequest,
  type OffloadRules,
  DEFAULT_KEEP_HEADERS,
} from '@handoff/core';
export { offload, type OffloadMiddleware, type OffloadOptions } from './offload';
export { acceptUpload, type AcceptUploadOptions, type Upload, type UploadGrant } from './upload';
export { localStore, type FileInfo, type UploadStore, type UploadTarget, type UploadedFile } from '@handoff/uploads';

export type ProxyLater = (url: string | URL, options?: LaterOptions) => Promise<ProxyOutcome>;

declare module 'koa' {
  interface DefaultContext {
    /**
     * Hands the response off to `url`: sets `ctx.respond = false` and resolves as
     * soon as the proxy owns the response, while the bytes still flow. The
     * returned handle's `done` settles with the outcome.
     */
    proxyFetch: ProxyFetch;
    /**
     * Stores the request for later delivery to `url` through the `queue` given to handoff():
     * sets `ctx.respond = false`; the queue answers 202 once the request is stored (503
     * when it cannot be). Resolves with the outcome once that answer is written.
     */
    proxyLater: ProxyLater;
  }
  interface DefaultState {
    /** The handle of the transfer this request handed off to, for logging middleware. */
    handoff?: ProxyHandle;
  }
}

/** The middleware, with the proxy behind it for stats and shutdown. */
export interface HandoffMiddleware extends Middleware, WithProxy {}

/**
 * Koa middleware installing `ctx.proxyFetch(url, optionsOrOnHeaders?)`.
 * `options` are the defaults for every call made through it.
 */
export function handoff(options?: ProxyOptions): HandoffMiddleware {
  const proxy = createProxy(options);

  const middleware = function handoffMiddleware(ctx: Context, next: () => Promise<unknown>) {
    installProxyFetch(ctx.app);
    (ctx as ProxiedContext)[PROXY] = proxy;
    return next();
  };
  return withProxy(middleware, proxy);
}

/** The proxy of the handoff() middleware that ran last for this request. */
const PROXY = Symbol('handoff.proxy');
type ProxiedContext = Context & { [PROXY]?: HandoffProxy };

/**
 * `ctx.proxyFetch` is one method on the app's context prototype, installed on first
 * use, rather than a closure assigned to every ctx: per-request closures stored on the
 * context made V8 promote about 0.6 MB per young-generation collection instead of
 * 0.09 MB, and those collections set the p99 latency (bench/profiles.md).
 */
function installProxyFetch(app: Context['app']): void {
  if (Object.prototype.hasOwnProperty.call(app.context, 'proxyFetch')) return;
  Object.defineProperty(app.context, 'proxyFetch', { value: contextProxyFetch, writable: true, configurable: true });
  Object.defineProperty(app.context, 'proxyLater', { value: contextProxyLater, writable: true, configurable: true });
}

function notInstalled(name: string): Promise<never> {
  return Promise.reject(new ProxyError('HANDOFF_INVALID_OPTIONS', `ctx.${name} was called on a request the handoff() middleware did not run for`));
}

function contextProxyFetch(this: ProxiedContext, url: string | URL, optionsOrOnHeaders?: ProxyCallOptions | OnHeaders) {
  const proxy = this[PROXY];
  if (!proxy) return notInstalled('proxyFetch');
  return proxyFetch(proxy, this, url, optionsOrOnHeaders);
}

function contextProxyLater(this: ProxiedContext, url: string | URL, options?: LaterOptions) {
  const proxy = this[PROXY];
  if (!proxy) return notInstalled('proxyLater');
  return proxyLater(proxy, this, url, options);
}

async function proxyLater(proxy: HandoffProxy, ctx: Context, url: string | URL, options?: LaterOptions): Promise<ProxyOutcome> {
  const answered = proxy.later(ctx.req, ctx.res, url, options);
  ctx.respond = false;
  const outcome = await answered;
  if (outcome.error) ctx.app.emit('error', outcome.error, ctx);
  return outcome;
}

async function proxyFetch(
  proxy: HandoffProxy,
  ctx: Context,
  url: string | URL,
  optionsOrOnHeaders?: ProxyCallOptions | OnHeaders,
): Promise<ProxyHandle> {
  const options = callOptions(optionsOrOnHeaders);
  const handle = proxy.fetch(ctx.req, ctx.res, url, options);
  ctx.respond = false;
  ctx.state.handoff = handle;
  void handle.done.then((outcome) => {
    if (outcome.error) ctx.app.emit('error', outcome.error, ctx);
  });
  return handle;
}
