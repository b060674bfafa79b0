import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { handoff } from '@handoff/koa';
import { createQueue, type QueueEvent } from '@handoff/queue';

export const TOKEN = 'demo-token';

/**
 * The app: POST /webhooks/:source with the right bearer token is stored and answered 202
 * ({"id": …}) once committed, then delivered to `receiver` by the queue's workers in this
 * process — retried with backoff while the receiver fails or hangs.
 */
export async function startApp(receiver: string, dir: string, onEvent: (event: QueueEvent) => void) {
  const queue = createQueue({
    dir, // the embedded store (PGlite) in a directory; set `database: 'postgres://…'` to share it
    lease: 2_000,
    headersTimeout: 1_000, // a hung receiver is given up on after 1 s, and tried again
    retryBase: 100,
    retryMax: 1_000,
    maxAttempts: 30,
    concurrency: 16,
    pollInterval: 50,
    onEvent,
  });
  await queue.start();
  const proxy = handoff({ queue });
  const app = new Koa();
  app.on('error', () => {});
  app.use(proxy);
  app.use(async (ctx) => {
    const match = /^\/webhooks\/([a-z0-9-]+)$/.exec(ctx.path);
    if (ctx.method !== 'POST' || !match) ctx.throw(404);
    if (ctx.get('authorization') !== `Bearer ${TOKEN}`) ctx.throw(401);
    await ctx.proxyLater(`${receiver}/hooks/${match![1]}`, { method: 'POST' });
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queue,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await proxy.close({ timeout: 0 });
      await queue.close({ timeout: 2_000 });
    },
  };
}
