import type { CacheOptions, ProxyCallOptions, ProxyError, ProxyOptions } from '@handoff/core';
import { Redis } from 'ioredis';
import { request, type Reply, type RequestOptions } from '../helpers/client';
import { engineGateway, type EngineGateway, type GatewayCall } from '../helpers/engine-gateway';
import { recordingUpstream, type RecordingUpstream, type Respond } from '../helpers/recording-upstream';
import { prefixedKeys, removeKeys, uniquePrefix } from '../helpers/redis-keys';
import { until } from '../helpers/wait';

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

/**
 * The stores a behaviour is proven on: memory always, Redis when REDIS_URL is set (each
 * run under a key prefix of its own, removed afterwards). A Redis write lands after the
 * response has ended, so `stored()` waits for it before the next request looks it up.
 */
export interface StoreCase {
  name: 'memory' | 'redis';
  cache(): CacheOptions;
  /** Resolves once the rig's proxy can use the store (connected to Redis). */
  ready(rig: CacheRig): Promise<void>;
  /** Resolves once the responses sent so far are readable from the store (at once for memory). */
  stored(): Promise<void>;
  /** Redis: the PTTL (ms) of every key the store wrote; memory: none. */
  ttls(): Promise<number[]>;
  cleanup(): Promise<void>;
}

/** The same stores as `describe.each(STORES)('… (%s store)', (_name, store) => …)` rows. */
export function storeRows(): Array<[StoreCase['name'], StoreCase]> {
  return storeCases().map((store) => [store.name, store]);
}

/** A rig over `store`, with `cache` options on top of the store's, once its proxy can use the store. */
export async function storeRig(store: StoreCase, respond: Respond, cache: CacheOptions = {}): Promise<CacheRig> {
  const rig = await cacheRig(respond, { cache: { ...store.cache(), ...cache } });
  await store.ready(rig);
  return rig;
}

export function storeCases(): StoreCase[] {
  const ready = (rig: CacheRig) => rig.gw.proxy.ready();
  const memory: StoreCase = { name: 'memory', cache: () => ({}), ready, stored: async () => {}, ttls: async () => [], cleanup: async () => {} };
  const url = process.env.REDIS_URL;
  if (!url) {
    console.log('REDIS_URL is not set: the Redis store cases of this suite are skipped (CI sets it).');
    return [memory];
  }
  let prefix = uniquePrefix();
  let client: Redis | undefined;
  const redis: StoreCase = {
    name: 'redis',
    cache: () => {
      prefix = uniquePrefix();
      // cache.timeout 2 s, not the default 500 ms: these suites are about what is stored, and on
      // a loaded machine a Redis lookup slower than 500 ms turns into an uncached MISS (fail
      // open, as it should). The suites about a slow or failing Redis set their own timeout.
      return { store: { redis: url, keyPrefix: prefix }, timeout: 2_000 };
    },
    ready,
    stored: async () => {
      client ??= new Redis(url);
      const redisClient = client;
      const before = Date.now();
      // A response that is stored shows up within milliseconds; one that is not never does.
      await until(async () => (await prefixedKeys(redisClient, prefix)).length > 0 || Date.now() - before > 250, 'a Redis write', {
        every: 10,
      });
    },
    ttls: async () => {
      client ??= new Redis(url);
      const redisClient = client;
      return Promise.all((await prefixedKeys(redisClient, prefix)).map((key) => redisClient.pttl(key)));
    },
    cleanup: async () => {
      client ??= new Redis(url);
      await removeKeys(client, prefix);
      await client.quit();
      client = undefined;
    },
  };
  return [memory, redis];
}
