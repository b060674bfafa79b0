// handoff: Koa + ctx.proxyFetch, in the mode given by MODE (response | socket).
import http from 'node:http';
import Koa from 'koa';
import { handoff, type ProxyMode } from '@handoff/koa';
import { listen, ORIGIN } from './announce';

const mode = process.env.MODE as ProxyMode;
const app = new Koa();
app.silent = true;
// The default gate (64 in flight) would queue 4,936 of the 5,000 slow streams:
// open it wide enough that every contender relays them all at once.
app.use(handoff({ concurrency: 8192, maxQueue: 0 }));
app.use(async (ctx) => {
  await ctx.proxyFetch(`${ORIGIN}${ctx.url}`, { mode });
});

listen(http.createServer(app.callback()));
