import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  callOptions,
  createProxy,
  withProxy,
  type OnHeaders,
  type ProxyCallOptions,
  type ProxyFetch,
  type ProxyHandle,
  type ProxyOptions,
  type WithProxy,
} from '@handoff/core';
import { handOff, installOn, PROXY, type ProxiedResponse } from './hand-off';

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
export { offload, type OffloadMiddleware, type OffloadOptions } from './offload';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Response {
      /**
       * Hands the response off to `url` and resolves as soon as the proxy owns it, while
       * the bytes still flow. Rejects, without touching the response, for bad arguments:
       * `return` or `await` it so that Express 5 passes the error to `next(err)`.
       */
      proxyFetch: ProxyFetch;
    }
    interface Locals {
      /** The handle of the transfer this request handed off to, for logging middleware. */
      handoff?: ProxyHandle;
    }
  }
}

/** The middleware, with the proxy behind it for stats and shutdown. */
export interface HandoffMiddleware extends RequestHandler, WithProxy {}

/**
 * Express middleware installing `res.proxyFetch(url, optionsOrOnHeaders?)` for the
 * routes behind it. `options` are the defaults for every call made through it.
 */
export function handoff(options?: ProxyOptions): HandoffMiddleware {
  const proxy = createProxy(options);
  const middleware = function handoffMiddleware(_req: Request, res: Response, next: NextFunction) {
    installOn(res, 'proxyFetch', responseProxyFetch);
    (res as ProxiedResponse)[PROXY] = proxy;
    next();
  };
  return withProxy(middleware, proxy);
}

function responseProxyFetch(this: ProxiedResponse, url: string | URL, optionsOrOnHeaders?: ProxyCallOptions | OnHeaders) {
  const options = callOptions(optionsOrOnHeaders);
  return handOff(this, 'res.proxyFetch', this[PROXY], options, (proxy) => proxy.fetch(this.req, this, url, options));
}
