import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { handoff, passThroughBodies } from '@handoff/fastify';

/** 2 MiB/s for each download. */
const DOWNLOAD_RATE = 2 * 1024 * 1024;

/**
 * The Fastify app: its logger (one JSON line per request, and one per failed transfer
 * with its code), the token check as an onRequest hook, the handoff plugin and the routes.
 * `app.close()` lets running transfers finish for up to `drainTimeout` ms.
 */
export async function createGateway(upstream: string, token: string, drainTimeout: number): Promise<FastifyInstance> {
  const app = Fastify({ logger: true });
  await app.register(handoff, { concurrency: 64, maxQueue: 256, queueTimeout: 5_000, closeTimeout: drainTimeout });

  const expected = Buffer.from(`Bearer ${token}`);
  app.addHook('onRequest', async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
    }
  });

  // Header overrides: a CSP the backend does not set, and the backend's host name hidden.
  app.get<{ Params: { id: string } }>('/reports/:id', (request, reply) =>
    reply.proxyFetch(`${upstream}/r/${encodeURIComponent(request.params.id)}`, (head) => {
      head.headers['content-security-policy'] = 'sandbox;';
      delete head.headers['x-internal-host'];
    }),
  );
  app.get('/downloads/big', (_request, reply) => reply.proxyFetch(`${upstream}/big`, { rateLimit: DOWNLOAD_RATE }));

  // Uploads of any content type are streamed as they arrive: Fastify's parsers are off in this context.
  await app.register(async (uploads) => {
    passThroughBodies(uploads);
    uploads.post('/uploads', (_request, reply) => reply.proxyFetch(`${upstream}/upload`, { method: 'POST', body: 'request' }));
  });
  return app;
}
