// A gateway in its own process behind the shared gate, for the cross-process tests.
// Env: ORIGIN, GATE_REDIS (a redis:// URL: the gate owns that connection), GATE_KEY, NAME,
// CONCURRENCY, MAX_QUEUE, QUEUE_TIMEOUT, LEASE_TTL, WHEN_DOWN. Prints `port N` once listening
// and `gate-error CODE` per reported error; GET /__stats answers proxy.stats as JSON.
// Every upstream request carries `x-gateway: NAME`, so the origin can tell who holds a slot.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy } from '@handoff/core';

const env = process.env;
const proxy = createProxy({
  concurrency: Number(env.CONCURRENCY ?? 10),
  maxQueue: Number(env.MAX_QUEUE ?? 100),
  queueTimeout: Number(env.QUEUE_TIMEOUT ?? 30_000),
  gate: {
    redis: env.GATE_REDIS!,
    key: env.GATE_KEY!,
    leaseTtl: Number(env.LEASE_TTL ?? 10_000),
    whenDown: (env.WHEN_DOWN ?? 'open') as 'open' | 'closed',
    onError: (err) => console.log(`gate-error ${err.code}`),
  },
});
const server = http.createServer((req, res) => {
  if (req.url === '/__stats') return void res.end(JSON.stringify(proxy.stats));
  void proxy.fetch(req, res, env.ORIGIN + req.url!, { headers: { 'x-gateway': env.NAME ?? 'gateway' } });
});
server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  void proxy.close({ timeout: 0 }).finally(() => server.close(() => process.exit(0)));
});
