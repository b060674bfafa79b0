import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connect, failFast, quit } from '../redis/connect';
import { ACQUIRE, RELEASE, RENEW } from './lease-scripts';

export interface LeaseStoreSettings {
  redis: string | Redis;
  key: string;
  /** ms a command may take; past it the command fails (and Redis counts as down). */
  timeout: number;
  /** Another instance freed a slot or withdrew a ticket: waiters may get in now. */
  onFree: () => void;
  /** The connection is (again) ready for commands. */
  onReady: () => void;
  /** The connection failed or closed. */
  onFailure: (err: unknown) => void;
}

export interface Acquired {
  admitted: string[];
  /** New tickets that found no slot and no room in the local queue. */
  full: string[];
}

/**
 * The Redis side of the shared gate: its scripts (gate/lease-scripts.ts), run on one
 * connection, and one subscribed connection that hears of freed slots. Commands go out
 * only while the connection is ready and each is bounded by `timeout`, so a request never
 * waits on a Redis that has gone away.
 */
export class LeaseStore {
  readonly client: Redis;
  readonly #owned: boolean;
  readonly #subscriber: Redis;
  readonly #keys: string[];
  readonly #channel: string;
  readonly #settings: LeaseStoreSettings;
  #onSubscribed: (() => void) | undefined;
  /** Resolves once the subscribed connection listens for freed slots (proxy.ready()). */
  readonly subscribed = new Promise<void>((resolve) => (this.#onSubscribed = resolve));

  constructor(settings: LeaseStoreSettings) {
    this.#settings = settings;
    // The hash tag keeps every key of one gate in one slot on Redis Cluster.
    const base = `{${settings.key}}`;
    this.#keys = [`${base}:holders`, `${base}:queue`, `${base}:tickets`, `${base}:seq`];
    this.#channel = `${base}:free`;
    this.#owned = typeof settings.redis === 'string';
    this.client = typeof settings.redis === 'string' ? connect(settings.redis, failFast(settings.timeout), 'gate.redis') : settings.redis;
    this.client.on('error', settings.onFailure);
    this.client.on('close', this.#closed);
    this.client.on('ready', settings.onReady);
    // A subscribed connection can send nothing else: one of its own. Its failures are the
    // main connection's too; while it is down, waiters are woken by the renewal timer.
    this.#subscriber = this.client.duplicate();
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('ready', () => void this.#subscribe());
    this.#subscriber.on('message', (channel: string) => channel === this.#channel && settings.onFree());
    if (this.#subscriber.status === 'ready') void this.#subscribe();
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves once the command connection is ready (at once when it is). */
  connected(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.client.once('ready', () => resolve()));
  }

  async acquire(limit: number, ttl: number, room: number, known: number, tickets: readonly string[]): Promise<Acquired> {
    const [admitted, full] = (await this.#run(ACQUIRE, [limit, ttl, room, this.#channel, known, ...tickets])) as [string[], string[]];
    return { admitted, full };
  }

  async release(limit: number, ids: readonly string[]): Promise<void> {
    await this.#run(RELEASE, [limit, this.#channel, ...ids]);
  }

  /** Extends running leases; returns those that had to be taken again. */
  async renew(ttl: number, ids: readonly string[]): Promise<string[]> {
    return (await this.#run(RENEW, [ttl, ...ids])) as string[];
  }

  async ping(): Promise<void> {
    await this.#bounded(this.client.ping());
  }

  /** Closes the connections the store opened; a caller's client is left as it is (its duplicate is ours). */
  async close(): Promise<void> {
    this.client.off('error', this.#settings.onFailure);
    this.client.off('close', this.#closed);
    this.client.off('ready', this.#settings.onReady);
    this.#subscriber.disconnect();
    if (this.#owned) await quit(this.client);
  }

  #run(script: string, args: readonly (string | number)[]): Promise<unknown> {
    if (!this.ready) return Promise.reject(new Error(`Redis connection is ${this.client.status}`));
    const keys = this.#keys;
    // EVALSHA, sending the script itself only when Redis does not know it (after a restart or SCRIPT FLUSH).
    const sent = this.client
      .evalsha(sha1(script), keys.length, ...keys, ...args)
      .catch((err: Error) => (/NOSCRIPT/.test(err.message) ? this.client.eval(script, keys.length, ...keys, ...args) : Promise.reject(err)));
    return this.#bounded(sent);
  }

  /** A caller's client may queue commands while offline and have no command timeout: a gate must not wait on it. */
  #bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#settings.timeout} ms`)), this.#settings.timeout);
    });
    return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
  }

  readonly #closed = (): void => this.#settings.onFailure(new Error('Redis connection closed'));

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#channel);
      this.#onSubscribed?.();
      this.#settings.onFree();
    } catch {
      // Not subscribed: the renewal timer still retries waiters.
    }
  }
}

const hashes = new Map<string, string>();

function sha1(script: string): string {
  let hash = hashes.get(script);
  if (!hash) hashes.set(script, (hash = createHash('sha1').update(script).digest('hex')));
  return hash;
}
