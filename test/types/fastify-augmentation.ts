// Checked by `tsc` (pnpm typecheck), never run: proves the FastifyReply augmentation.
import Fastify from 'fastify';
import { handoff, passThroughBodies, type ProxyHandle, type ProxyOutcome } from '@handoff/fastify';

const app = Fastify();
void app.register(handoff, { concurrency: 64, maxQueue: 256, closeTimeout: 10_000, offload: { accel: { '/protected/': 'http://files.internal/' } } });
// @ts-expect-error plugin options have no unknown keys
void app.register(handoff, { timeout: 5 });

app.get<{ Params: { id: string } }>('/reports/:id', async (request, reply) => {
  const handle: ProxyHandle = await reply.proxyFetch(`http://reports.internal/r/${request.params.id}`, (head) => {
    head.headers['content-security-policy'] = 'sandbox;';
  });
  const outcome: ProxyOutcome = await handle.done;
  const code: string | undefined = outcome.error?.code;
  void code;
  const offloaded: ProxyHandle = await reply.offload({ url: 'http://files.internal/a' });
  void offloaded;

  // @ts-expect-error the URL must be a string or URL
  await reply.proxyFetch(42);
  // @ts-expect-error mode is 'response' or 'socket'
  await reply.proxyFetch('http://x/', { mode: 'hijack' });
  // @ts-expect-error onHeaders gets the head, it cannot return a number
  await reply.proxyFetch('http://x/', () => 5);
  // @ts-expect-error options have no unknown keys
  await reply.proxyFetch('http://x/', { timeout: 5 });
  return reply.proxyFetch('http://reports.internal/', { method: 'POST', body: 'request', mode: 'socket' });
});

void app.register(async (uploads) => {
  passThroughBodies(uploads);
  uploads.put('/u', (_request, reply) => reply.proxyFetch('http://files.internal/u', { method: 'PUT', body: 'request' }));
});

const stats: number = app.handoff.stats.inFlight;
void stats;
