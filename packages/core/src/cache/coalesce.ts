import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { Joined, type Outcome } from './joined';
import { urlKey, type UrlKey } from './keys';
import { onlyIfCached } from './only-if-cached';

type Options = Dispatcher.DispatchOptions;

/** Requests that ask for something other than the plain stored response neither lead nor wait. */
const UNCOALESCED_HEADERS = ['range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

/**
 * Request coalescing in front of the cache (a "cache lock", as nginx's
 * proxy_cache_lock): of concurrent GET/HEAD requests for one URL, one (the leader)
 * goes through the cache to the upstream; the others wait, and when its response has
 * ended and been stored they look the cache up again and are served from it.
 *
 * Written here rather than using undici's deduplicate interceptor, which tees the
 * leader's response to the waiters as it streams: when the leader's client goes
 * away, its abort fails every waiter with that client's error; a paused waiter is
 * buffered (up to 5 MiB) and then failed; its key holds every request header, so
 * requests from different clients (X-Forwarded-For) are never joined; and a response
 * the cache may not store (`private`) would be handed to the waiters anyway.
 *
 * - Leader's response ended: the waiters look the cache up once its write is done; one
 *   that finds nothing (the response was not storable, or varies) goes upstream itself.
 * - Leader's upstream failed: every waiter fails with that error (each transfer then
 *   answers 502/504 or retries as it would for its own attempt).
 * - Leader aborted from its own side (its client left): the next waiter leads.
 * - A waiter waits at most `timeout` ms, then goes upstream on its own; that time counts
 *   from when its leader's own fetch started, not while the leader waits for another
 *   instance's (which has its own `timeout`), so a fleet whose leading instance dies
 *   sends one request per instance upstream, not every waiter's.
 * - The store failing: nobody waits. Nothing would be stored for a waiter to find,
 *   so waiting would only delay the same request to the upstream.
 */
export class Coalescer {
  readonly #timeout: number;
  readonly #settled: Settled;
  readonly #viaFleet: boolean;
  readonly #failing: () => boolean;
  readonly #groups = new Map<string, Group>();
  #waiting = 0;
  #timeouts = 0;

  /**
   * `settled(key)` resolves once the writes in progress for that URL are done (see
   * GuardedStore). With `viaFleet`, a leader's miss goes through the fleet-wide lock
   * (cache/fleet-lock.ts), the second level of coalescing. While `failing()` (the store
   * is down), requests pass straight through.
   */
  constructor(timeout: number, settled: Settled, viaFleet: boolean, failing: () => boolean) {
    this.#timeout = timeout;
    this.#settled = settled;
    this.#viaFleet = viaFleet;
    this.#failing = failing;
  }

  /** Requests waiting for a leader now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Waits that ended at the timeout, the waiter going upstream on its own. */
  get timeouts(): number {
    return this.#timeouts;
  }

  readonly interceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    const key = coalescingKey(opts);
    if (key === undefined || this.#failing()) return dispatch(opts, handler);
    const request = new Joined(opts, handler, dispatch);
    const group = this.#groups.get(key);
    if (!group) {
      const created: Group = { key, opts, waiters: [], paused: false };
      this.#groups.set(key, created);
      this.#lead(created, request);
    } else {
      this.#wait(group, request);
    }
    return true;
  };

  #lead(group: Group, request: Joined): void {
    request.onSettle = (outcome, err) => {
      request.onFleetWait = undefined;
      this.#leaderSettled(group, outcome, err);
    };
    request.onFleetWait = (waiting) => {
      group.paused = waiting;
      for (const waiter of group.waiters) {
        clearTimeout(waiter.timer);
        if (!waiting) this.#arm(group, waiter);
      }
    };
    request.dispatch(this.#viaFleet);
  }

  #wait(group: Group, request: Joined): void {
    this.#waiting++;
    group.waiters.push(request);
    if (!group.paused) this.#arm(group, request);
    request.onOwnAbort = () => this.#drop(group, request);
    request.start();
  }

  #arm(group: Group, request: Joined): void {
    request.timer = setTimeout(() => {
      // Waited long enough: on its own through the cache, no longer part of the group.
      if (!this.#drop(group, request)) return;
      this.#timeouts++;
      request.dispatch();
    }, this.#timeout);
  }

  /** Takes a waiter out of its group; false if it was no longer waiting. */
  #drop(group: Group, request: Joined): boolean {
    const index = group.waiters.indexOf(request);
    if (index === -1) return false;
    group.waiters.splice(index, 1);
    this.#release(request);
    return true;
  }

  #release(request: Joined): void {
    this.#waiting--;
    clearTimeout(request.timer);
    request.onOwnAbort = undefined;
  }

  #leaderSettled(group: Group, outcome: Outcome, err: Error | undefined): void {
    if (outcome === 'aborted') {
      const next = group.waiters.shift();
      if (!next) return void this.#groups.delete(group.key);
      this.#release(next);
      if (group.paused) {
        group.paused = false;
        for (const waiter of group.waiters) this.#arm(group, waiter);
      }
      return this.#lead(group, next);
    }
    if (outcome === 'failed') {
      this.#groups.delete(group.key);
      for (const waiter of group.waiters.splice(0)) {
        this.#release(waiter);
        waiter.fail(err!);
      }
      return;
    }
    // Completed: new arrivals keep joining until the response is stored, so none of
    // them misses a write still in progress and goes upstream a second time.
    const settle = () => {
      this.#groups.delete(group.key);
      for (const waiter of group.waiters.splice(0)) {
        this.#release(waiter);
        waiter.dispatch();
      }
    };
    const written = this.#settled(urlKey(group.opts));
    if (!written) return settle();
    // A custom store whose write never finishes must not hold the group (and every later arrival) forever.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#timeout)));
    void Promise.race([written, late]).then(() => {
      clearTimeout(timer);
      settle();
    });
  }
}

type Settled = (key: UrlKey) => Promise<void> | undefined;

interface Group {
  key: string;
  opts: Options;
  waiters: Joined[];
  /** The leader waits for another instance: its waiters' time does not run meanwhile. */
  paused: boolean;
}

function coalescingKey(opts: Options): string | undefined {
  if ((opts.method !== 'GET' && opts.method !== 'HEAD') || !opts.origin || opts.body != null) return undefined;
  const headers = opts.headers;
  if (headers != null && (typeof headers !== 'object' || Array.isArray(headers) || Symbol.iterator in headers)) return undefined;
  const fields = headers as IncomingHttpHeaders | undefined;
  if (fields && UNCOALESCED_HEADERS.some((name) => fields[name] !== undefined)) return undefined;
  // Answered from the store or with a 504 at once: it never fetches, so it neither leads nor waits.
  if (onlyIfCached(opts)) return undefined;
  return `${opts.method} ${String(opts.origin)}${opts.path}`;
}
