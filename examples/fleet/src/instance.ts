// One instance of the fleet: a Koa app whose handoff cache and concurrency gate live in
// the shared Redis. Started by main.ts with ORIGIN, REDIS_URL, KEY_PREFIX and NAME; it joins
// the fleet (proxy.ready()), listens on a free port, and tells the parent the port over IPC.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { handoff } from '@handoff/koa';

const { ORIGIN, REDIS_URL, KEY_PREFIX, NAME } = process.env;

async function main(): Promise<void> {
  const proxy = handoff({
    // At most 4 transfers at the origin at once, counted across every instance.
    concurrency: 4,
    gate: { redis: REDIS_URL!, key: `${KEY_PREFIX}gate`, onError: (err) => console.error(`[${NAME}] ${err.code}: ${err.message}`) },
    cache: {
      store: { redis: REDIS_URL!, keyPrefix: KEY_PREFIX! },
      onError: (err) => console.error(`[${NAME}] ${err.code}: ${err.message}`),
    },
  });
  const app = new Koa();
  app.use(proxy);
  app.use(async (ctx) => {
    if (ctx.path === '/stats') return void (ctx.body = { ...proxy.proxy.stats.cache, gate: proxy.proxy.stats.gate });
    // In a real app, a route checks who is asking first; the cache is shared (RFC 9111 rules).
    await ctx.proxyFetch(`${ORIGIN}${ctx.url}`);
  });

  // Until the fleet lock and the gate are connected, misses would be coalesced, and
  // transfers admitted, within this instance only.
  await proxy.proxy.ready();
  const server = app.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    void proxy.close({ timeout: 0 }).finally(() => server.close(() => process.exit(0)));
  });
}

void main();
