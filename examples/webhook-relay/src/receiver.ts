import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the flaky receiver saw. */
export interface Tally {
  requests: number;
  failed: number;
  hung: number;
  /** 2xx answers per Idempotency-Key: a key counted twice is a duplicate the receiver could drop. */
  accepted: Map<string, number>;
}

/**
 * A webhook receiver that misbehaves: 30 % of requests get a 503, 5 % are never answered
 * (the relay's headers timeout gives up on them), the rest a 200.
 */
export async function flakyReceiver(random = Math.random): Promise<{ url: string; tally: Tally; close(): Promise<void> }> {
  const tally: Tally = { requests: 0, failed: 0, hung: 0, accepted: new Map() };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      tally.requests++;
      const roll = random();
      if (roll < 0.3) {
        tally.failed++;
        return res.writeHead(503).end('try later');
      }
      if (roll < 0.35) {
        tally.hung++;
        return;
      }
      const key = String(req.headers['idempotency-key']);
      tally.accepted.set(key, (tally.accepted.get(key) ?? 0) + 1);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tally,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
