import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { ForwardingHandler } from '../upstream/forwarding-handler';
import { urlKey, type UrlKey } from './keys';

type Controller = Dispatcher.DispatchController;
type Options = Dispatcher.DispatchOptions;

/** On the options of a request its instance's coalescer let lead: the request, to be told when another instance leads. */
export const kFleet = Symbol('handoff.fleet');

/** A local leader, as the fleet lock sees it. */
export interface FleetMember {
  /** When this request stops waiting for other instances (set on its first wait). */
  fleetDeadline: number | undefined;
  /** Another instance leads: keep the client waiting (and able to abort). */
  waitForFleet(): void;
  /** Go on through the cache; `viaFleet` contends for the lock again on a miss. */
  dispatch(viaFleet: boolean): void;
}

export interface FleetSettings {
  /** The cache store's connection (commands fail fast while it is down). */
  client: Redis;
  /** The lock key of a URL: in the hash slot of that URL's entries. */
  lockKey: (key: UrlKey) => string;
  /** The pub/sub channel every instance with this key prefix listens on. */
  channel: string;
  /** ms a follower waits for another instance; also the lock's TTL, renewed while its leader runs. */
  lockTimeout: number;
  /** Resolves once this instance's writes for a URL are done (GuardedStore.settled). */
  settled: (key: UrlKey) => Promise<void> | undefined;
  /** Reports a Redis failure (the guarded store logs one per outage). */
  onError: (err: unknown) => void;
}

/** Releases the lock if it is still this leader's, then tells every instance how it ended. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/** Extends the lock while its leader still holds it. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** How a fetch under the lock ended: its response is stored (look it up), or it is not (contend again). */
type Ended = 'filled' | 'released';

interface Follower {
  member: FleetMember;
  timer: NodeJS.Timeout;
}

/**
 * The second level of coalescing, across every instance sharing a Redis cache: of the
 * local leaders missing one URL at once, one per fleet takes a lock in Redis (SET NX
 * with a TTL of `lockTimeout`, renewed while its response streams) and fetches; the
 * others wait until it has stored the response, then look the cache up again.
 *
 * Waiters learn that the lock was released by pub/sub, one channel for the key prefix
 * and one subscribed connection per instance: no polling, and no server configuration
 * (keyspace notifications are off by default and cannot be relied on in managed Redis).
 * A message can be missed in the moment between a failed SET and the subscription of
 * its waiter, so each wait starts by checking the lock is still there.
 *
 * - The leader's response stored: "filled"; waiters look it up (a miss — a response not
 *   stored — goes upstream directly, not through the lock again).
 * - The leader failed or its client left: "released"; waiters contend again.
 * - The leader's instance died: no message; its lock expires within `lockTimeout`, and
 *   its waiters go upstream on their own at `lockTimeout`, as a local waiter does.
 * - Redis down, or the subscription not (yet) in place: requests skip the lock and
 *   are coalesced per instance only; the store reports the outage.
 */
export class FleetLock {
  readonly #settings: FleetSettings;
  readonly #subscriber: Redis;
  readonly #followers = new Map<string, Set<Follower>>();
  /** The renewal timers of the locks this instance holds: stopped on close, the locks left to expire. */
  readonly #renewals = new Set<NodeJS.Timeout>();
  #closed = false;
  #subscribed = false;
  #onSubscribed: (() => void) | undefined;
  /** Resolves once this instance listens for other instances' fetches (proxy.ready()). */
  readonly subscribed = new Promise<void>((resolve) => (this.#onSubscribed = resolve));
  #waits = 0;
  #timeouts = 0;

  constructor(settings: FleetSettings) {
    this.#settings = settings;
    // A subscribed connection can send nothing else: one of its own, with the store's settings.
    this.#subscriber = settings.client.duplicate();
    this.#subscriber.on('error', settings.onError);
    this.#subscriber.on('ready', () => void this.#subscribe());
    this.#subscriber.on('close', () => (this.#subscribed = false));
    this.#subscriber.on('message', (channel: string, message: string) => this.#message(channel, message));
    if (this.#subscriber.status === 'ready') void this.#subscribe();
  }

  /** Waits for another instance's fetch so far. */
  get waits(): number {
    return this.#waits;
  }

  /** Waits that ended at `lockTimeout` (the request then went upstream on its own). */
  get timeouts(): number {
    return this.#timeouts;
  }

  /** Requests waiting for another instance now. */
  get waiting(): number {
    let count = 0;
    for (const followers of this.#followers.values()) count += followers.size;
    return count;
  }

  /** Between the cache and the upstream: only misses of local leaders (marked kFleet) take the lock. */
  readonly interceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    const member = (opts as { [kFleet]?: FleetMember })[kFleet];
    if (!member || !this.#subscribed || this.#settings.client.status !== 'ready') return dispatch(opts, handler);
    void this.#contend(dispatch, opts, handler, member);
    return true;
  };

  async close(): Promise<void> {
    this.#closed = true;
    for (const renewal of this.#renewals) clearInterval(renewal);
    this.#renewals.clear();
    for (const followers of this.#followers.values()) for (const follower of followers) clearTimeout(follower.timer);
    this.#followers.clear();
    this.#subscriber.disconnect();
  }

  async #contend(dispatch: Dispatcher.Dispatch, opts: Options, handler: Dispatcher.DispatchHandler, member: FleetMember): Promise<void> {
    const key = urlKey(opts);
    const lock = this.#settings.lockKey(key);
    const token = randomUUID();
    let acquired: boolean;
    try {
      acquired = (await this.#settings.client.set(lock, token, 'PX', this.#settings.lockTimeout, 'NX')) === 'OK';
    } catch (err) {
      // Redis failed: this instance fetches by itself.
      this.#settings.onError(err);
      return this.#send(dispatch, opts, handler);
    }
    if (acquired) return this.#send(dispatch, opts, new FleetLeader(handler, this.#held(lock, token, key)));
    this.#follow(lock, member);
  }

  #send(dispatch: Dispatcher.Dispatch, opts: Options, handler: Dispatcher.DispatchHandler): void {
    try {
      dispatch(opts, handler);
    } catch (err) {
      handler.onResponseError?.(undefined as unknown as Controller, err as Error);
    }
  }

  /** The lock is this leader's: renewed until the response ends, then released with how it ended. */
  #held(lock: string, token: string, key: UrlKey): (ended: Ended) => void {
    const { client, lockTimeout, channel } = this.#settings;
    const renewal = setInterval(() => {
      client.eval(RENEW, 1, lock, token, lockTimeout).catch(this.#settings.onError);
    }, Math.max(Math.floor(lockTimeout / 3), 1));
    renewal.unref();
    this.#renewals.add(renewal);
    return (ended) => {
      const release = () => {
        clearInterval(renewal);
        this.#renewals.delete(renewal);
        if (this.#closed) return;
        client.eval(RELEASE, 1, lock, token, channel, `${ended} ${lock}`).catch(this.#settings.onError);
      };
      // "filled" only once this instance's write of the response is in Redis, so a waiter's lookup finds it.
      const written = ended === 'filled' ? this.#settings.settled(key) : undefined;
      if (!written) return release();
      const late = setTimeout(release, lockTimeout);
      late.unref();
      void written.then(() => {
        clearTimeout(late);
        release();
      });
    };
  }

  #follow(lock: string, member: FleetMember): void {
    const now = Date.now();
    if (member.fleetDeadline === undefined) {
      member.fleetDeadline = now + this.#settings.lockTimeout;
      this.#waits++;
    }
    member.waitForFleet();
    let followers = this.#followers.get(lock);
    if (!followers) this.#followers.set(lock, (followers = new Set()));
    const follower: Follower = {
      member,
      timer: setTimeout(() => {
        if (!this.#unfollow(lock, follower)) return;
        this.#timeouts++;
        member.dispatch(false);
      }, Math.max(member.fleetDeadline - now, 0)),
    };
    followers.add(follower);
    // Released before this waiter was listening: its message is gone, so look now.
    this.#settings.client.exists(lock).then(
      (exists) => {
        if (exists === 0) this.#wake(lock, 'released', follower);
      },
      (err) => {
        this.#settings.onError(err);
        if (this.#unfollow(lock, follower)) member.dispatch(false);
      },
    );
  }

  #message(channel: string, message: string): void {
    if (channel !== this.#settings.channel) return;
    const space = message.indexOf(' ');
    const ended = message.slice(0, space);
    if (ended !== 'filled' && ended !== 'released') return;
    this.#wake(message.slice(space + 1), ended);
  }

  /** Sends on the followers of a lock (or one of them): to the cache when filled, to the lock again when released. */
  #wake(lock: string, ended: Ended, only?: Follower): void {
    const followers = this.#followers.get(lock);
    if (!followers) return;
    for (const follower of only ? [only] : [...followers]) {
      if (!this.#unfollow(lock, follower)) continue;
      follower.member.dispatch(ended === 'released');
    }
  }

  #unfollow(lock: string, follower: Follower): boolean {
    const followers = this.#followers.get(lock);
    if (!followers?.delete(follower)) return false;
    clearTimeout(follower.timer);
    if (followers.size === 0) this.#followers.delete(lock);
    return true;
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#settings.channel);
      this.#subscribed = true;
      this.#onSubscribed?.();
    } catch (err) {
      this.#settings.onError(err);
    }
  }
}

/** The leader's handler: tells the lock how the response ended, after the cache above it has seen the end. */
class FleetLeader extends ForwardingHandler {
  #done: ((ended: Ended) => void) | undefined;

  constructor(handler: Dispatcher.DispatchHandler, done: (ended: Ended) => void) {
    super(handler);
    this.#done = done;
  }

  override onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    super.onResponseEnd(controller, trailers);
    this.#finish('filled');
  }

  override onResponseError(controller: Controller, err: Error): void {
    super.onResponseError(controller, err);
    this.#finish('released');
  }

  #finish(ended: Ended): void {
    const done = this.#done;
    this.#done = undefined;
    done?.(ended);
  }
}
