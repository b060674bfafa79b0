import http from 'node:http';
import Koa from 'koa';
import { offload, type OffloadMiddleware, type OffloadOptions, type ProxyHandle } from '@handoff/koa';
import { listen, type Running } from '../helpers/servers';

export interface OffloadApp extends Running {
  app: Koa;
  middleware: OffloadMiddleware;
  /** Errors the app emitted (the logged reasons), in order. */
  errors: Error[];
  /** Handles of the offloads performed, in order. */
  handles: ProxyHandle[];
  /** The request headers each handler saw. */
  seen: http.IncomingHttpHeaders[];
}

/** A Koa app with offload(options) in front of `handler` (and `before` in front of it), on 127.0.0.1 port 0. */
export async function offloadApp(handler: Koa.Middleware, options: OffloadOptions = {}, before?: Koa.Middleware): Promise<OffloadApp> {
  const app = new Koa();
  const errors: Error[] = [];
  const handles: ProxyHandle[] = [];
  const seen: http.IncomingHttpHeaders[] = [];
  app.silent = true;
  app.on('error', (err: Error) => errors.push(err));
  const middleware = offload(options);
  app.use(async (ctx, next) => {
    await next();
    if (ctx.state.handoff) handles.push(ctx.state.handoff);
  });
  if (before) app.use(before);
  app.use(middleware);
  app.use(async (ctx, next) => {
    seen.push({ ...ctx.req.headers });
    await handler(ctx, next);
  });
  const running = await listen(http.createServer(app.callback()));
  return {
    ...running,
    app,
    middleware,
    errors,
    handles,
    seen,
    close: async () => {
      await middleware.close({ timeout: 0 });
      await running.close();
    },
  };
}

/** The only offload handle, once its transfer has settled. */
export async function onlyOutcome(app: OffloadApp) {
  expect(app.handles).toHaveLength(1);
  return app.handles[0]!.done;
}
