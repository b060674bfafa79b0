// The origin behind the slow-client gateway: a small page, a large one, and an upload sink.
import http from 'node:http';

const SMALL = Buffer.alloc(1024, 's');
const LARGE = Buffer.alloc(4 * 1024 * 1024, 'l');

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => res.end(`stored ${length}\n`));
    return;
  }
  const body = req.url === '/large' ? LARGE : SMALL;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send!({ port: (server.address() as { port: number }).port }));
process.on('disconnect', () => process.exit(0));
