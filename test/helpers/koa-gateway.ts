import http from 'node:http';
import Koa from 'koa';
import { handoff, type HandoffMiddleware, type ProxyOptions } from '@handoff/koa';
import { listen, type Running } from './servers';

export interface Gateway extends Running {
  app: Koa;
  handoff: HandoffMiddleware;
  /** Errors the app emitted, in order. */
  errors: Error[];
}

/** A Koa app with handoff() installed and `route` as its only handler. */
export async function gateway(
  route: Koa.Middleware,
  options?: ProxyOptions,
  configure?: (app: Koa) => void,
): Promise<Gateway> {
  const app = new Koa();
  const errors: Error[] = [];
  app.silent = true;
  app.on('error', (err: Error) => errors.push(err));
  const middleware = handoff(options);
  configure?.(app);
  app.use(middleware);
  app.use(route);
  const running = await listen(http.createServer(app.callback()));
  return {
    ...running,
    app,
    handoff: middleware,
    errors,
    close: async () => {
      await middleware.close({ timeout: 0 });
      await running.close();
    },
  };
}
