// A gateway run in its own process, for the fd-exhaustion test. GET /hog opens /dev/null until
// the descriptor table is full; GET /release closes those; any other path is proxied. It reports
// its port, and the code of every failed transfer, on stdout.
//
// A descriptor closed after the hog (the previous upstream socket closing late, say) would let
// the next connection through, so /hog first waits for every upstream socket to close, and
// while hogging each proxied request first takes any descriptor freed since.
import fs from 'node:fs';
import http from 'node:http';
import { Agent } from 'undici';
import { createProxy } from '@handoff/core';
import { until } from '../../helpers/wait';

const origin = process.env.ORIGIN!;
const hogged: number[] = [];
// No keep-alive upstream, so every proxied request needs a new descriptor.
const proxy = createProxy({ dispatcher: new Agent({ pipelining: 0 }) });

function hog(): string {
  try {
    for (;;) hogged.push(fs.openSync('/dev/null', 'r'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code!;
  }
}

const server = http.createServer(async (req, res) => {
  const path = req.url!.split('?')[0];
  if (path === '/hog') {
    await until(() => proxy.stats.upstreamSockets === 0, 'every upstream socket closed', { timeout: 60_000, every: 10 });
    const code = hog();
    res.end(`hogged ${hogged.length} (${code})`);
    return;
  }
  if (path === '/release') {
    while (hogged.length) fs.closeSync(hogged.pop()!);
    res.end('released');
    return;
  }
  if (hogged.length) hog();
  const handle = proxy.fetch(req, res, `${origin}/x`);
  void handle.done.then(({ error }) => error && process.stdout.write(`error ${error.code}\n`));
});
server.on('error', (err) => process.stdout.write(`server-error ${(err as NodeJS.ErrnoException).code}\n`));
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as { port: number }).port}\n`));
