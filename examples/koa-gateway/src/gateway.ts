import Koa from 'koa';
import { handoff, isProxyError, type HandoffMiddleware } from '@handoff/koa';
import { requireToken } from './auth';
import { logRequests } from './log';
import { createRoutes } from './routes';

export interface Gateway {
  app: Koa;
  /** The handoff middleware, kept for `close()` at shutdown. */
  proxy: HandoffMiddleware;
}

/** The Koa app: logging first, then the token check, handoff and the routes. */
export function createGateway(upstream: string, token: string): Gateway {
  const app = new Koa();
  const proxy = handoff({ concurrency: 64, maxQueue: 256, queueTimeout: 5_000 });
  const router = createRoutes(upstream);

  app.use(logRequests());
  app.use(requireToken(token));
  app.use(proxy);
  app.use(router.routes());
  app.use(router.allowedMethods());

  // The adapter emits every failed transfer here, including clients that hung up.
  app.on('error', (err: unknown) => {
    if (isProxyError(err)) console.error(`[gateway] proxy error ${err.code} (${err.status}): ${err.message}`);
    else console.error('[gateway] error:', err);
  });

  return { app, proxy };
}
