import type Koa from 'koa';
import type { ProxyCallOptions, ProxyHandle } from '@handoff/koa';

/** A route proxying to `target` that records every handle, so tests can await outcomes. */
export function recordingRoute(
  target: string | ((ctx: Koa.Context) => string),
  options: ProxyCallOptions | ((ctx: Koa.Context) => ProxyCallOptions) = {},
): { route: Koa.Middleware; handles: ProxyHandle[] } {
  const handles: ProxyHandle[] = [];
  const route: Koa.Middleware = async (ctx) => {
    const url = typeof target === 'function' ? target(ctx) : target;
    handles.push(await ctx.proxyFetch(url, typeof options === 'function' ? options(ctx) : options));
  };
  return { route, handles };
}
