// The fallback origin: a minimal static file server that keeps the files in
// memory, so that serving them costs as little CPU as Node allows.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CACHED_CONTROL, CACHED_PATH, SMALL_PATH } from './files';

const dir = process.env.WWW_DIR!;
const files = new Map<string, Buffer>();
for (const name of fs.readdirSync(dir)) files.set(`/${name}`, fs.readFileSync(path.join(dir, name)));

const server = http.createServer((req, res) => {
  // /cached: the small file with the Cache-Control the cache-hit scenario needs (origin/files.ts).
  const cached = req.url === CACHED_PATH;
  const body = files.get(cached ? SMALL_PATH : (req.url ?? ''));
  if (!body) {
    res.writeHead(404, { 'content-length': 0 }).end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': body.length,
    ...(cached ? { 'cache-control': CACHED_CONTROL } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
  process.send!({ port: (server.address() as { port: number }).port }),
);
process.on('disconnect', () => process.exit(0));
