// fastify + handoff: reply.proxyFetch from a catch-all route, response mode.
import Fastify from 'fastify';
import { handoff } from '@handoff/fastify';
import { ORIGIN } from './announce';

const app = Fastify({ logger: false });
// As for the Koa contender: a gate wide enough for the 5,000 slow streams at once.
void app.register(handoff, { concurrency: 8192, maxQueue: 0 });
app.get('/*', (request, reply) => reply.proxyFetch(`${ORIGIN}${request.url}`));

app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }).then(() => {
  const address = app.server.address() as { port: number };
  process.send!({ port: address.port });
});
