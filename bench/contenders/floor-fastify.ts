// The Fastify floor a developer could write alone: reply.hijack() and undici.stream()
// into reply.raw, hop-by-hop headers dropped (as contenders/floor.ts does for Koa).
import type http from 'node:http';
import Fastify from 'fastify';
import { Agent, stream } from 'undici';
import { ORIGIN } from './announce';

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'];
const dispatcher = new Agent();
const app = Fastify({ logger: false });

app.get('/*', async (request, reply) => {
  reply.hijack();
  const res = reply.raw;
  try {
    await stream(`${ORIGIN}${request.url}`, { method: 'GET', dispatcher }, ({ statusCode, headers }) => {
      for (const name of HOP_BY_HOP) delete headers[name];
      res.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
      return res;
    });
  } catch {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-length': 0 }).end();
  }
});

app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }).then(() => {
  const address = app.server.address() as { port: number };
  process.send!({ port: address.port });
});
