// handoff with its cache on (in-memory store), response mode: for the cache-hit scenario.
import http from 'node:http';
import Koa from 'koa';
import { handoff } from '@handoff/koa';
import { listen, ORIGIN } from './announce';

const app = new Koa();
app.silent = true;
app.use(handoff({ concurrency: 8192, maxQueue: 0, cache: true }));
app.use(async (ctx) => {
  await ctx.proxyFetch(`${ORIGIN}${ctx.url}`);
});

listen(http.createServer(app.callback()));
