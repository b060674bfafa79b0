/** Cache-hit requests/s: small cacheable responses, after the first request has stored them. */
import type { Settings } from '../config';
import type { LoadGenerator } from '../load/types';
import { CACHED_PATH } from '../origin/files';
import type { SmallResult } from './throughput';

export async function cacheHits(load: LoadGenerator, url: string, settings: Settings, warm: boolean): Promise<SmallResult> {
  const { connections, warmupSeconds, seconds } = settings.small;
  // The warm-up also stores the response; every measured request is then a hit.
  if (warm) await load.throughput(url + CACHED_PATH, connections, warmupSeconds);
  const r = await load.throughput(url + CACHED_PATH, connections, seconds);
  return { rps: r.requests / r.seconds, errors: r.errors };
}
