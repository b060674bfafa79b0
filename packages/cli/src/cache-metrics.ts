import { Counter, Gauge, type Registry } from 'prom-client';
import type { CacheStats } from '@handoff/core';

/** A counter mirroring one of the proxy's own running totals: it grows by what the total grew since the last scrape. */
function mirrored(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const total = read();
      if (total > seen) this.inc(total - seen);
      seen = total;
    },
  });
}

/** The cache's metrics, from proxy.stats.cache: how responses were served, and the fleet's coalescing and outages. */
export function registerCacheMetrics(registry: Registry, stats: () => CacheStats): void {
  const seen: Record<string, number> = {};
  const responses = new Counter({
    name: 'handoff_cache_responses_total',
    help: 'Responses through the cache, by how they were served: hit, miss, revalidated (a 304 refreshed the entry), stale (served stale on an error).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const now = stats();
      for (const [result, total] of [['hit', now.hits], ['miss', now.misses], ['revalidated', now.revalidated], ['stale', now.stale]] as const) {
        const grown = total - (seen[result] ?? 0);
        if (grown > 0) this.inc({ result }, grown);
        seen[result] = total;
      }
    },
  });
  for (const result of ['hit', 'miss', 'revalidated', 'stale']) responses.inc({ result }, 0);
  mirrored(registry, 'handoff_cache_fleet_waits_total', 'Misses that waited for another instance fetching the same URL (the Redis store’s fleet lock).', () => stats().fleetWaits);
  mirrored(registry, 'handoff_cache_lock_timeouts_total', 'Waits for a fetch (this instance’s or another’s) that ended at lockTimeout, the request going upstream itself.', () => stats().lockTimeouts);
  mirrored(registry, 'handoff_cache_store_outages_total', 'Times the cache store started failing (each reported once; requests proxied uncached meanwhile).', () => stats().storeOutages);
  new Gauge({
    name: 'handoff_cache_waiting',
    help: 'Requests waiting now for a fetch of the same URL, in this instance or another.',
    registers: [registry],
    collect() {
      this.set(stats().waiting);
    },
  });
}
