import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Origin {
  url: string;
  /** Requests the origin has answered, by path. */
  fetches: Map<string, number>;
  /** The most requests the origin was answering at once. */
  peak(): number;
  close(): Promise<void>;
}

/** A slow origin (500 ms per answer), cacheable for a minute, that counts what it is asked. */
export async function startOrigin(): Promise<Origin> {
  const fetches = new Map<string, number>();
  let active = 0;
  let peak = 0;
  const server: Server = createServer((req, res) => {
    fetches.set(req.url!, (fetches.get(req.url!) ?? 0) + 1);
    peak = Math.max(peak, ++active);
    res.on('close', () => active--);
    setTimeout(() => {
      res.setHeader('cache-control', 'public, max-age=60');
      res.end(`report for ${req.url}, rendered at ${new Date().toISOString()}\n`);
    }, 500);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fetches,
    peak: () => peak,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
