import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** How the backend answers /download/:n: with offload headers, or by streaming the file itself. */
export type Mode = 'offload' | 'direct';

/** Like a Rails app with two workers: at most WORKERS requests are handled at once, the rest wait in line. */
const WORKERS = 2;
/** What each request costs a worker besides any streaming: routing, a session lookup, rendering. */
const WORK_MS = 5;

class Workers {
  #free = WORKERS;
  #waiting: Array<() => void> = [];

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

/**
 * GET /ping answers "pong". GET /download/:n authorizes the download, then either
 * answers at once with `Offload-Url` pointing at the origin (mode 'offload': the worker
 * is free again in a few ms) or streams the file from the origin itself (mode 'direct':
 * the worker is held for the whole download, as a Rails action proxying a file would).
 */
export function createBackend(mode: Mode, origin: string, fileBytes: number): Server {
  const workers = new Workers();
  return createServer((req, res) => {
    void workers.acquire().then(async () => {
      try {
        await handle(req, res);
      } catch {
        res.destroy();
      } finally {
        workers.release();
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await sleep(WORK_MS);
    if (req.url === '/ping') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('pong\n');
    const n = /^\/download\/(\d+)$/.exec(req.url ?? '')?.[1];
    if (!n) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    const file = `${origin}/files/report-${n}.bin?bytes=${fileBytes}`;
    const disposition = `attachment; filename="report-${n}.bin"`;
    if (mode === 'offload') {
      // The sidecar fetches the file and streams it; these headers never reach the client.
      res.writeHead(200, { 'offload-requested': 'true', 'offload-url': file, 'content-disposition': disposition });
      return void res.end();
    }
    await streamFrom(file, res, disposition);
  }
}

function streamFrom(url: string, res: ServerResponse, disposition: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = get(url, (from) => {
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-disposition': disposition };
      if (from.headers['content-length']) headers['content-length'] = from.headers['content-length'];
      res.writeHead(from.statusCode ?? 502, headers);
      from.pipe(res);
      res.once('close', () => {
        from.destroy();
        resolve();
      });
    });
    upstream.once('error', reject);
    res.once('close', () => upstream.destroy());
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
