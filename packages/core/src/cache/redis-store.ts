import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { connect, failFast, quit } from '../redis/connect';
import { bodyWriter } from './body-writer';
import {
  primaryKey,
  storedResult,
  variantId,
  varyMatches,
  type CacheKey,
  type CacheStore,
  type CacheValue,
  type GetResult,
  type UrlKey,
  type Vary,
} from './keys';

export interface RedisStoreSettings {
  /** A redis:// URL (the store owns that connection) or a connected ioredis client (the caller's). */
  redis: string | Redis;
  keyPrefix: string;
  /** ms a Redis command may take; past it the command fails (and the cache is skipped). */
  timeout: number;
  maxEntrySize: number;
  /** Called with every error the client reports (the guarded store logs one per outage). */
  onError: (err: unknown) => void;
}

/** What the index keeps per variant, enough to choose one without fetching bodies. */
interface IndexEntry {
  vary?: Vary;
  cachedAt: number;
  deleteAt: number;
}

/**
 * Stores the entry, adds it to its URL's index, and keeps the index alive at least
 * as long as the entry (PEXPIRE only ever extends it). Atomic, so a reader never
 * finds an index entry whose body has not been written yet.
 */
const WRITE = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1`;

/**
 * A store for undici's cache interceptor shared by every process using the same
 * Redis and key prefix. Each URL has an index (a hash of its Vary variants) and one
 * key per variant holding head and body; every key expires at the entry's deleteAt,
 * and Redis's own maxmemory policy bounds the total.
 *
 * Written on ioredis rather than using undici-cache-redis 1.0.1, which (checked
 * against its source) looks an entry up with a SCAN of the whole keyspace, MATCHing
 * a pattern in which a `*` from the URL path stays a wildcard, so `/files/*` can be
 * served `/files/secret`'s entry; leaves its write stream unfinished when Redis fails;
 * and does not re-enable client tracking after a reconnect, so its local copies stop
 * being invalidated. Lookups here are two direct reads: the index, then one variant.
 */
export class RedisCacheStore implements CacheStore {
  readonly client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #maxEntrySize: number;
  readonly #timeout: number;
  readonly #onError: (err: unknown) => void;

  constructor(settings: RedisStoreSettings) {
    this.#prefix = settings.keyPrefix;
    this.#maxEntrySize = settings.maxEntrySize;
    this.#timeout = settings.timeout;
    this.#onError = settings.onError;
    this.#owned = typeof settings.redis === 'string';
    this.client =
      typeof settings.redis === 'string'
        ? connect(settings.redis, failFast(settings.timeout), 'cache.store.redis')
        : settings.redis;
    this.client.on('error', this.#onError);
  }

  /** Commands are sent only while connected; otherwise the cache is skipped (the outage was reported by 'error'). */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves once the connection is ready (at once when it is). */
  connected(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.client.once('ready', () => resolve()));
  }

  /** Not connected: undefined at once (not a resolved promise), which the guard does not take for a working store. */
  get(key: CacheKey): Promise<GetResult | undefined> | undefined {
    return this.ready ? this.#lookup(key) : undefined;
  }

  async #lookup(key: CacheKey): Promise<GetResult | undefined> {
    const { index } = this.#keys(key);
    const fields = await this.client.hgetall(index);
    const now = Date.now();
    let best: { field: string; entry: IndexEntry } | undefined;
    for (const field in fields) {
      const entry = parseIndexEntry(fields[field]!);
      if (!entry || entry.deleteAt <= now || !varyMatches(entry.vary, key.headers)) continue;
      if (!best || entry.cachedAt > best.entry.cachedAt) best = { field, entry };
    }
    if (!best) return undefined;
    const blob = await this.client.getBuffer(this.#entryKey(index, best.field));
    const stored = blob && decode(blob);
    if (!stored) {
      // Expired or evicted under the index: forget the variant.
      void this.client.hdel(index, best.field).catch(this.#onError);
      return undefined;
    }
    return storedResult(stored.value, stored.body);
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined {
    if (!this.ready) return undefined;
    const { index } = this.#keys(key);
    const field = hash(variantId(value.vary));
    return bodyWriter(this.#maxEntrySize, async (body) => {
      const ttl = Math.ceil(value.deleteAt - Date.now());
      if (ttl <= 0) return;
      const entry: IndexEntry = { cachedAt: value.cachedAt, deleteAt: value.deleteAt };
      if (value.vary) entry.vary = value.vary;
      const write = this.client.eval(WRITE, 2, this.#entryKey(index, field), index, encode(value, body), ttl, field, JSON.stringify(entry));
      await withTimeout(write, this.#timeout);
    });
  }

  delete(key: CacheKey): Promise<void> | undefined {
    return this.ready ? this.#delete(key) : undefined;
  }

  async #delete(key: CacheKey): Promise<void> {
    const { index } = this.#keys(key);
    const fields = await this.client.hkeys(index);
    await this.client.del(index, ...fields.map((field) => this.#entryKey(index, field)));
  }

  /** Closes the connection if the store opened it; a caller's client is left as it is. */
  async close(): Promise<void> {
    this.client.off('error', this.#onError);
    if (!this.#owned) return;
    await quit(this.client);
  }

  /** The fleet lock of a URL (cache/fleet-lock.ts), in the hash slot of its entries. */
  lockKey(key: UrlKey): string {
    return `${this.#keys(key).index}:lock`;
  }

  /** The pub/sub channel on which instances sharing this prefix announce released locks. */
  get channel(): string {
    return `${this.#prefix}fleet`;
  }

  #keys(key: UrlKey): { index: string } {
    // The hash tag keeps a URL's index and variants in one slot on Redis Cluster.
    return { index: `${this.#prefix}{${hash(primaryKey(key))}}` };
  }

  #entryKey(index: string, field: string): string {
    return `${index}:${field}`;
  }
}

/** A caller's client may have no command timeout; a write must still end, or its stream never finishes. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function parseIndexEntry(text: string): IndexEntry | undefined {
  try {
    const entry = JSON.parse(text) as IndexEntry;
    return typeof entry.deleteAt === 'number' && typeof entry.cachedAt === 'number' ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** One Redis value per variant: a 4-byte length, the head as JSON, then the body bytes. */
function encode(value: CacheValue, body: Buffer): Buffer {
  const head = Buffer.from(JSON.stringify(value));
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(head.length);
  return Buffer.concat([length, head, body]);
}

function decode(blob: Buffer): { value: CacheValue; body: Buffer } | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (blob.length < 4 + length) return undefined;
  try {
    const value = JSON.parse(blob.toString('utf8', 4, 4 + length)) as CacheValue;
    if (typeof value.statusCode !== 'number' || typeof value.headers !== 'object') return undefined;
    return { value, body: blob.subarray(4 + length) };
  } catch {
    return undefined;
  }
}
