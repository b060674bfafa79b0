// A gateway in its own process with the Redis cache, for the cross-process tests.
// Env: ORIGIN, REDIS_URL, KEY_PREFIX. Prints `port N` once listening and `store-error CODE` per reported error.
// It passes its own ioredis client and listens only once that client is connected: until
// then the cache would be skipped (by design), and the tests are about sharing entries.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { handoff } from '@handoff/koa';

async function main(): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL!);
  await once(redis, 'ready');

  const app = new Koa();
  app.silent = true;
  const middleware = handoff({
    cache: {
      store: { redis, keyPrefix: process.env.KEY_PREFIX! },
      onError: (err) => console.log(`store-error ${err.code}`),
    },
  });
  app.use(middleware);
  app.use(async (ctx) => {
    await ctx.proxyFetch(process.env.ORIGIN + ctx.url);
  });
  const server = http.createServer(app.callback());
  server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as AddressInfo).port}`));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    void middleware
      .close({ timeout: 0 })
      .then(() => redis.quit())
      .finally(() => server.close(() => process.exit(0)));
  });
}

void main();
