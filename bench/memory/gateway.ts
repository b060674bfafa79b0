// The proxy under measurement: Koa + handoff, reporting its RSS to the parent on request.
import Koa from 'koa';
import { handoff, type ProxyMode } from '@handoff/koa';

const origin = process.env.ORIGIN!;
const app = new Koa();
app.use(handoff());
app.use(async (ctx) => {
  await ctx.proxyFetch(`${origin}/big`, { mode: ctx.query.mode as ProxyMode });
});
const server = app.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
process.on('message', () => {
  globalThis.gc?.();
  process.send!({ rss: process.memoryUsage().rss });
});
process.on('disconnect', () => process.exit(0));
