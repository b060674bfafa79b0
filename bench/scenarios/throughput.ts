/** Small-body requests/s and large-body MB/s (with CPU seconds per GiB) for one target. */
import type { Settings } from '../config';
import { usage } from '../lib/proc-stats';
import type { LoadGenerator } from '../load/types';
import { LARGE_PATH, SMALL_PATH } from '../origin/files';

export interface SmallResult {
  rps: number;
  errors: number;
}

export async function smallBody(load: LoadGenerator, url: string, settings: Settings, warm: boolean): Promise<SmallResult> {
  const { connections, warmupSeconds, seconds } = settings.small;
  if (warm) await load.throughput(url + SMALL_PATH, connections, warmupSeconds);
  const r = await load.throughput(url + SMALL_PATH, connections, seconds);
  return { rps: r.requests / r.seconds, errors: r.errors };
}

export interface LargeResult {
  /** decimal megabytes (10^6 bytes) per second received by the client */
  mbps: number;
  /** CPU seconds the target spent per GiB it relayed */
  cpuPerGiB: number;
  errors: number;
}

export async function largeBody(load: LoadGenerator, url: string, pid: number, settings: Settings): Promise<LargeResult> {
  const { connections, seconds } = settings.large;
  const before = usage(pid).cpu;
  const r = await load.throughput(url + LARGE_PATH, connections, seconds, true);
  const cpu = usage(pid).cpu - before;
  return { mbps: r.bytes / r.seconds / 1e6, cpuPerGiB: cpu / (r.bytes / 1024 ** 3), errors: r.errors };
}
