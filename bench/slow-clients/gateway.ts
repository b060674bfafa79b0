// A default Koa + handoff gateway, as an app would deploy it: the default gate (64 slots,
// 256 queued, 5 s queue timeout) and the default slow-client defences.
import http from 'node:http';
import Koa from 'koa';
import { expectContinue, handoff } from '@handoff/koa';
import { listen, ORIGIN } from '../contenders/announce';

/** A per-call bodyTimeout for GETs, when the run asks for one (SLOW_BODY_TIMEOUT, ms). */
const bodyTimeout = process.env.SLOW_BODY_TIMEOUT ? Number(process.env.SLOW_BODY_TIMEOUT) : undefined;

const app = new Koa();
app.silent = true;
app.use(handoff());
app.use(async (ctx) => {
  if (ctx.method === 'POST') await ctx.proxyFetch(`${ORIGIN}/upload`, { method: 'POST', body: 'request' });
  else await ctx.proxyFetch(`${ORIGIN}${ctx.path}`, { bodyTimeout });
});
const server = http.createServer(app.callback());
server.on('checkContinue', expectContinue(app.callback()));
listen(server);
