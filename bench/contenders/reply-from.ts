// fastify + @fastify/reply-from (undici underneath).
import Fastify from 'fastify';
import replyFrom from '@fastify/reply-from';
import { ORIGIN } from './announce';

const app = Fastify({ logger: false });
// reply-from caps its undici pool at 128 connections by default: lift it for the 5,000 slow streams.
void app.register(replyFrom, { base: ORIGIN, undici: { connections: 8192 } });
app.get('/*', (request, reply) => reply.from(request.url));

app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }).then(() => {
  const address = app.server.address() as { port: number };
  process.send!({ port: address.port });
});
