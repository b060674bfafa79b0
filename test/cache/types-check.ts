// Checked by `tsc` (pnpm typecheck), never run: the cache options and stats as users type them.
import { Redis } from 'ioredis';
import Koa from 'koa';
import { handoff, type CacheOptions, type CacheStats, type CacheStatus } from '@handoff/koa';

const app = new Koa();
const memory = handoff({ cache: true });
const tuned = handoff({ cache: { maxSize: 32 * 1024 * 1024, maxEntries: 1_000, lockTimeout: 0, onError: (err) => void err.code } });
const shared = handoff({ cache: { store: { redis: 'redis://127.0.0.1:6379', keyPrefix: 'reports:' }, timeout: 200 } });
const options: CacheOptions = { store: { redis: new Redis({ lazyConnect: true }) } };
app.use(memory).use(tuned).use(shared).use(handoff({ cache: options }));

app.use(async (ctx) => {
  await ctx.proxyFetch('http://reports.internal/live', { cache: false });
  await ctx.proxyFetch('http://reports.internal/r/1', {
    onHeaders: (head) => {
      const served = head.headers['x-cache'] as CacheStatus | undefined;
      if (served === 'HIT') delete head.headers['x-cache'];
    },
  });
  // @ts-expect-error per call, cache is only on or off
  await ctx.proxyFetch('http://x/', { cache: { maxSize: 1 } });
});

// @ts-expect-error the store is 'memory', { redis } or an undici cache store
handoff({ cache: { store: 'disk' } });

const stats: CacheStats | undefined = memory.proxy.stats.cache;
void stats?.hits;
