/** Latency at a fixed request rate for one target, measured on a warmed process. */
import type { Settings } from '../config';
import type { LatencyResult, LoadGenerator } from '../load/types';
import { SMALL_PATH } from '../origin/files';

/**
 * `warmupSeconds` of the small-body load first, discarded. The large-body runs before
 * this one leave Node's own stream code deoptimized in every Node contender (V8's
 * --trace-deopt: "wrong map" in writeGeneric, clearBuffer, onStreamRead, Socket.read…);
 * at the fixed rate V8 takes longer than the measurement to optimize it again, so without
 * the warm-up the figure is the contender's recovery, not its steady tail.
 */
export async function latency(load: LoadGenerator, url: string, settings: Settings): Promise<LatencyResult> {
  await load.throughput(url + SMALL_PATH, settings.small.connections, settings.latency.warmupSeconds);
  const { rate, connections, seconds } = settings.latency;
  return load.latency(url + SMALL_PATH, rate, connections, seconds);
}
