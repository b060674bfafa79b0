import { Router } from '@koa/router';

/** 2 MiB/s for each download. */
const DOWNLOAD_RATE = 2 * 1024 * 1024;

/** The gateway's routes, each handing its response off to `upstream`. */
export function createRoutes(upstream: string): Router {
  const router = new Router();

  // Header overrides: a CSP the backend does not set, and the backend's host name hidden.
  router.get('/reports/:id', async (ctx) => {
    await ctx.proxyFetch(`${upstream}/r/${encodeURIComponent(ctx.params.id!)}`, (res) => {
      res.headers['content-security-policy'] = 'sandbox;';
      delete res.headers['x-internal-host'];
    });
  });

  router.get('/downloads/big', async (ctx) => {
    await ctx.proxyFetch(`${upstream}/big`, { rateLimit: DOWNLOAD_RATE });
  });

  // The upload is streamed to the upstream as it arrives, never buffered here.
  router.post('/uploads', async (ctx) => {
    await ctx.proxyFetch(`${upstream}/upload`, { method: 'POST', body: 'request' });
  });

  return router;
}
