import type { ProxyCallOptions, ProxyError, ProxyOptions } from '@handoff/core';
import { request, type Reply, type RequestOptions } from '../helpers/client';
import { engineGateway, type EngineGateway, type GatewayCall } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream, type Respond } from '../helpers/recording-upstream';

export interface CacheRig {
  origin: RecordingUpstream;
  gw: EngineGateway;
  /** Store errors reported through cache.onError. */
  storeErrors: ProxyError[];
  get(path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

/** An origin and a gateway proxying every path to it with the cache on (memory store unless `options.cache` says otherwise). */
export async function cacheRig(
  respond: Respond,
  options: ProxyOptions = {},
  call: ProxyCallOptions | ((call: GatewayCall) => ProxyCallOptions) = {},
): Promise<CacheRig> {
  const origin = await recordingUpstream(respond);
  const storeErrors: ProxyError[] = [];
  const cache = typeof options.cache === 'object' ? options.cache : {};
  const gw = await engineGateway(
    (incoming) => incoming.fetch(origin.url + incoming.url, typeof call === 'function' ? call(incoming) : call),
    { ...options, cache: { onError: (err) => storeErrors.push(err), ...cache } },
  );
  return {
    origin,
    gw,
    storeErrors,
    get: (path, requestOptions) => request(gw.url, { ...requestOptions, path }),
    close: async () => {
      await gw.close();
      await origin.close();
    },
  };
}

/** Upstream requests seen for one path. */
export function hits(origin: RecordingUpstream, path: string): number {
  return origin.requests.filter((r) => r.url === path).length;
}
