// The fallback origin: a minimal static file server that keeps the files in
// memory, so that serving them costs as little CPU as Node allows.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const dir = process.env.WWW_DIR!;
const files = new Map<string, Buffer>();
for (const name of fs.readdirSync(dir)) files.set(`/${name}`, fs.readFileSync(path.join(dir, name)));

const server = http.createServer((req, res) => {
  const body = files.get(req.url ?? '');
  if (!body) {
    res.writeHead(404, { 'content-length': 0 }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
  process.send!({ port: (server.address() as { port: number }).port }),
);
process.on('disconnect', () => process.exit(0));
