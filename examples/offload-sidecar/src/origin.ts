import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the origin paces each download: CHUNK bytes every INTERVAL ms (256 KiB/s). */
const CHUNK = 16 * 1024;
const INTERVAL = 62.5;

/**
 * A slow file origin, like object storage behind a thin pipe: GET /files/:name?bytes=N
 * streams N bytes (default 1 MiB) at 256 KiB/s, honouring backpressure.
 */
export function createOrigin(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    const name = /^\/files\/([\w.-]+)$/.exec(url.pathname)?.[1];
    if (req.method !== 'GET' || !name) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    const size = Number(url.searchParams.get('bytes') ?? 1024 * 1024);
    if (!Number.isSafeInteger(size) || size < 0) return void res.writeHead(400).end('bad size\n');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    let sent = 0;
    const block = Buffer.alloc(CHUNK, name.slice(0, 1));
    const tick = (): void => {
      if (res.destroyed) return;
      if (sent >= size) return void res.end();
      const n = Math.min(CHUNK, size - sent);
      sent += n;
      const more = res.write(block.subarray(0, n));
      if (more) setTimeout(tick, INTERVAL);
      else res.once('drain', () => setTimeout(tick, INTERVAL));
    };
    tick();
  });
}

export function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}
