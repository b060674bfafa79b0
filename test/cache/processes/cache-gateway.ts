// A gateway in its own process with the Redis cache, for the cross-process tests.
// Env: ORIGIN, REDIS_URL, KEY_PREFIX. Prints `port N` once listening and `store-error CODE` per reported error.
import http from 'node:http';
import Koa from 'koa';
import { handoff } from '@handoff/koa';

const app = new Koa();
app.silent = true;
const middleware = handoff({
  cache: {
    store: { redis: process.env.REDIS_URL!, keyPrefix: process.env.KEY_PREFIX! },
    onError: (err) => console.log(`store-error ${err.code}`),
  },
});
app.use(middleware);
app.use(async (ctx) => {
  await ctx.proxyFetch(process.env.ORIGIN + ctx.url);
});
const server = http.createServer(app.callback());
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as import('node:net').AddressInfo;
  console.log(`port ${port}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  void middleware.close({ timeout: 0 }).finally(() => server.close(() => process.exit(0)));
});
