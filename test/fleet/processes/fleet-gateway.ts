// A gateway in its own process, one member of a fleet sharing a Redis cache, for the
// cross-process tests. Env: ORIGIN, REDIS_URL (the store opens its own connection: a relay's
// address in the outage test), KEY_PREFIX, LOCK_TIMEOUT (ms). Listens once proxy.ready()
// resolves, then prints `port N`; prints `store-error CODE` per reported error.
// GET /__stats answers the proxy's stats as JSON.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy } from '@handoff/core';

async function main(): Promise<void> {
  const proxy = createProxy({
    cache: {
      store: { redis: process.env.REDIS_URL!, keyPrefix: process.env.KEY_PREFIX! },
      lockTimeout: Number(process.env.LOCK_TIMEOUT ?? 5_000),
      onError: (err) => console.log(`store-error ${err.code}`),
    },
  });
  await proxy.ready();
  const server = http.createServer((req, res) => {
    if (req.url === '/__stats') return void res.end(JSON.stringify(proxy.stats));
    void proxy.fetch(req, res, process.env.ORIGIN + req.url!);
  });
  server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as AddressInfo).port}`));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    void proxy.close({ timeout: 0 }).finally(() => server.close(() => process.exit(0)));
  });
}

void main();
