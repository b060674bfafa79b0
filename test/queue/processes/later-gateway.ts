// A gateway process for the kill -9 tests: a Koa app storing every request with ctx.proxyLater
// (no delivery here), on the queue given by QUEUE_DATABASE + QUEUE_SCHEMA or QUEUE_DIR.
import http from 'node:http';
import Koa from 'koa';
import { handoff } from '@handoff/koa';
import { createQueue } from '@handoff/queue';

async function main(): Promise<void> {
  const queue = createQueue({
    ...(process.env.QUEUE_DATABASE ? { database: process.env.QUEUE_DATABASE, schema: process.env.QUEUE_SCHEMA! } : { dir: process.env.QUEUE_DIR! }),
    deliver: false,
  });
  await queue.start();
  const app = new Koa();
  app.on('error', () => {});
  app.use(handoff({ queue }));
  app.use(async (ctx) => {
    await ctx.proxyLater(`${process.env.TARGET}${ctx.url}`, { method: ctx.method });
  });
  const server = http.createServer(app.callback());
  server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as { port: number }).port}\n`));
}

void main();
