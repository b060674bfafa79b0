// handoff (response mode) behind the local gate (GATE=local) or the gate shared through Redis
// (GATE=shared, REDIS_URL, default redis://127.0.0.1:6379): what the shared gate adds per request.
// Both admit every request of the latency run at once (64 slots, 10 connections).
import http from 'node:http';
import Koa from 'koa';
import { handoff } from '@handoff/koa';
import { listen, ORIGIN } from './announce';

const shared = process.env.GATE === 'shared';
const app = new Koa();
app.silent = true;
app.use(
  handoff({
    concurrency: 64,
    maxQueue: 256,
    ...(shared ? { gate: { redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', key: `handoff-bench:gate:${process.pid}` } } : {}),
  }),
);
app.use(async (ctx) => {
  await ctx.proxyFetch(`${ORIGIN}${ctx.url}`);
});

listen(http.createServer(app.callback()));
