// Checked by `tsc` (pnpm typecheck), never run: proves the Express Response augmentation.
import express from 'express';
import { handoff, offload, type ProxyHandle, type ProxyOutcome } from '@handoff/express';

const app = express();
const middleware = handoff({ concurrency: 64, maxQueue: 256, queueTimeout: 5_000 });
app.use(middleware);
app.use(offload({ proxy: middleware.proxy, accel: { '/protected/': 'http://files.internal/' } }));

const router = express.Router();
router.get('/reports/:id', async (req, res) => {
  const handle: ProxyHandle = await res.proxyFetch(`http://reports.internal/r/${req.params.id}`, (head) => {
    head.headers['content-security-policy'] = 'sandbox;';
  });
  const outcome: ProxyOutcome = await handle.done;
  const code: string | undefined = outcome.error?.code;
  void code;

  await res.proxyFetch(new URL('http://reports.internal/'), { method: 'POST', body: 'request', rateLimit: 1024, mode: 'socket' });
  const logged: ProxyHandle | undefined = res.locals.handoff;
  void logged;
  const offloaded: ProxyHandle = await res.offload({ url: 'http://files.internal/a', method: 'GET' });
  void offloaded;

  // @ts-expect-error the URL must be a string or URL
  await res.proxyFetch(42);
  // @ts-expect-error mode is 'response' or 'socket'
  await res.proxyFetch('http://x/', { mode: 'hijack' });
  // @ts-expect-error onHeaders gets the head, it cannot return a number
  await res.proxyFetch('http://x/', () => 5);
  // @ts-expect-error options have no unknown keys
  await res.proxyFetch('http://x/', { timeout: 5 });
  // @ts-expect-error res.offload needs a request with a url
  await res.offload({ method: 'GET' });
});
app.use('/api', router);

void middleware.close({ timeout: 1_000 });
const stats: number = middleware.proxy.stats.inFlight;
void stats;
