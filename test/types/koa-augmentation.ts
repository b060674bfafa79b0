// Checked by `tsc` (pnpm typecheck), never run: proves the Koa context augmentation.
import Koa from 'koa';
import Router from '@koa/router';
import { acceptUpload, handoff, localStore, type ProxyHandle, type ProxyOutcome, type Upload } from '@handoff/koa';

const app = new Koa();
const router = new Router();
const middleware = handoff({ concurrency: 64, maxQueue: 256, queueTimeout: 5_000 });
app.use(middleware);

router.get('/reports/:id', async (ctx) => {
  const handle: ProxyHandle = await ctx.proxyFetch(`http://reports.internal/r/${ctx.params.id}`, (res) => {
    res.headers['content-security-policy'] = 'sandbox;';
  });
  const outcome: ProxyOutcome = await handle.done;
  const code: string | undefined = outcome.error?.code;
  void code;

  await ctx.proxyFetch(new URL('http://reports.internal/'), { method: 'POST', body: 'request', rateLimit: 1024, mode: 'socket' });
  const logged: ProxyHandle | undefined = ctx.state.handoff;
  void logged;

  // @ts-expect-error the URL must be a string or URL
  await ctx.proxyFetch(42);
  // @ts-expect-error mode is 'response' or 'socket'
  await ctx.proxyFetch('http://x/', { mode: 'hijack' });
  // @ts-expect-error onHeaders gets the head, it cannot return a number
  await ctx.proxyFetch('http://x/', () => 5);
  // @ts-expect-error options have no unknown keys
  await ctx.proxyFetch('http://x/', { timeout: 5 });
});
app.use(router.routes());

void middleware.close({ timeout: 1_000 });
const stats: number = middleware.proxy.stats.inFlight;
void stats;

// acceptUpload(): ctx.upload is typed, and so are authorize's answer and the store.
router.put(
  '/uploads/:name',
  acceptUpload({ authorize: () => ({ maxSize: 1024, store: localStore('/tmp') }) }),
  (ctx) => {
    const upload: Upload | undefined = ctx.upload;
    const sha: string | undefined = upload?.sha256;
    const fields: Record<string, string | string[]> | undefined = upload?.fields;
    void [sha, fields];
  },
);
// @ts-expect-error authorize is required
acceptUpload({ maxSize: 10 });
// @ts-expect-error maxSize is a number
acceptUpload({ authorize: () => ({ maxSize: '10' }) });
