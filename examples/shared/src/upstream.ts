import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Size of the generated download. */
export const BIG_SIZE = 20 * 1024 * 1024;

const REPORT_PARTS = 5;
const REPORT_PART_INTERVAL = 500;
const BIG_CHUNK = 64 * 1024;

export interface Upstream {
  /** Origin to proxy to, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/**
 * A deliberately slow backend, in-process on a random port:
 * GET /r/:id streams a report over ~2 s, GET /big sends 20 MiB as fast as
 * the reader takes it, POST /upload answers with the size and sha256 of the body.
 */
export async function startUpstream(): Promise<Upstream> {
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      // The gateway cuts its upstream connection when its own client leaves.
      const reason = res.closed && !res.writableFinished ? 'the gateway closed the connection early' : String(err);
      console.error(`[upstream] ${req.method} ${req.url} stopped: ${reason}`);
      res.destroy();
    });
  });
  await listen(server);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => close(server),
  };
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://upstream').pathname;
  const report = /^\/r\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && report) return sendReport(decodeURIComponent(report[1]!), res);
  if (req.method === 'GET' && path === '/big') return sendBig(res);
  if (req.method === 'POST' && path === '/upload') return receiveUpload(req, res);
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}

async function sendReport(id: string, res: ServerResponse): Promise<void> {
  // x-internal-host is what a backend should never leak; the gateway removes it.
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-internal-host': 'reports-7.internal' });
  for (let part = 1; part <= REPORT_PARTS; part++) {
    if (res.destroyed) return;
    res.write(`report ${id}: part ${part}/${REPORT_PARTS} at ${new Date().toISOString()}\n`);
    if (part < REPORT_PARTS) await sleep(REPORT_PART_INTERVAL);
  }
  res.end();
}

async function sendBig(res: ServerResponse): Promise<void> {
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(BIG_SIZE),
    'content-disposition': 'attachment; filename="big.bin"',
  });
  await pipeline(Readable.from(generate(BIG_SIZE)), res);
}

function* generate(size: number): Generator<Buffer> {
  const block = Buffer.alloc(BIG_CHUNK, 'handoff ');
  for (let sent = 0; sent < size; sent += BIG_CHUNK) yield block.subarray(0, Math.min(BIG_CHUNK, size - sent));
}

async function receiveUpload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  const body = JSON.stringify({ bytes, sha256: hash.digest('hex'), contentType: req.headers['content-type'] ?? null });
  res.writeHead(200, { 'content-type': 'application/json' }).end(body + '\n');
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
