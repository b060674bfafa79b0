// A gateway run in its own process, for the fd-exhaustion test. GET /hog opens /dev/null until
// the descriptor table is full; GET /release closes those; any other path is proxied. It reports
// its port, and the code of every failed transfer, on stdout.
//
// A descriptor closed after the hog (the previous upstream socket closing late, say) would let
// the next connection through, so /hog first waits for every upstream socket to close, and
// while hogging each proxied request first takes any descriptor freed since.
import fs from 'node:fs';
import http from 'node:http';
import Koa from 'koa';
import { Agent } from 'undici';
import { handoff } from '@handoff/koa';

const origin = process.env.ORIGIN!;
const hogged: number[] = [];
const app = new Koa();
app.silent = true;
app.on('error', (err: { code?: string }) => process.stdout.write(`error ${err.code}\n`));
// No keep-alive upstream, so every proxied request needs a new descriptor.
const proxy = handoff({ dispatcher: new Agent({ pipelining: 0 }) });
app.use(proxy);

function hog(): string {
  try {
    for (;;) hogged.push(fs.openSync('/dev/null', 'r'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code!;
  }
}

app.use(async (ctx) => {
  if (ctx.path === '/hog') {
    while (proxy.proxy.stats.upstreamSockets > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const code = hog();
    ctx.body = `hogged ${hogged.length} (${code})`;
    return;
  }
  if (ctx.path === '/release') {
    while (hogged.length) fs.closeSync(hogged.pop()!);
    ctx.body = 'released';
    return;
  }
  if (hogged.length) hog();
  await ctx.proxyFetch(`${origin}/x`);
});
const server = http.createServer(app.callback());
server.on('error', (err) => process.stdout.write(`server-error ${(err as NodeJS.ErrnoException).code}\n`));
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as { port: number }).port}\n`));
