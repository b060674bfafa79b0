// A gateway in its own process with the Redis cache, for the cross-process tests.
// Env: ORIGIN, REDIS_URL, KEY_PREFIX. Prints `port N` once listening and `store-error CODE` per reported error.
// It passes its own ioredis client and listens only once that client is connected: until
// then the cache would be skipped (by design), and the tests are about sharing entries.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createProxy } from '@handoff/core';

async function main(): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL!);
  await once(redis, 'ready');

  const proxy = createProxy({
    cache: {
      store: { redis, keyPrefix: process.env.KEY_PREFIX! },
      onError: (err) => console.log(`store-error ${err.code}`),
    },
  });
  const server = http.createServer((req, res) => void proxy.fetch(req, res, process.env.ORIGIN + req.url!));
  server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as AddressInfo).port}`));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    void proxy
      .close({ timeout: 0 })
      .then(() => redis.quit())
      .finally(() => server.close(() => process.exit(0)));
  });
}

void main();
