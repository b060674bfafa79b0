import type { Throttle } from 'stream-throttle';
import { ProxyError, toProxyError, type FailureOwner } from '../errors';
import type { Sink } from '../sink/sink';
import { createThrottle } from '../throttle/throttle';
import { Deadline } from './deadline';
import type { ClientHead } from './head';
import type { ResponseSource, SourceHead } from './source';
import type { ResolvedCall } from '../options/resolve';

/** The transfer a relay works for: failed on no body progress for `bodyTimeout`, a client slower than the minimum rate, or a throttle error. */
export interface RelayOwner extends FailureOwner {
  /** After `end()`: everything was handed to the OS. */
  relayFinished(): void;
}

export interface RelaySettings {
  /** Bytes per second through the throttle; 0 for none. */
  rate: number;
  /** ms without progress in either direction before the owner hears `relayStalled`; 0 for none. */
  bodyTimeout: number;
  /** The minimum response rate in bytes per second, 0 for none, and the ms from the head before it applies. */
  minRate: number;
  grace: number;
}

/**
 * The relay's settings for a head: the throttle only for a body that flows (the rate the
 * response asked for, else the offload instruction's, else the call's), the call's timeouts.
 */
export function relaySettings(call: ResolvedCall, head: ClientHead, source: SourceHead, offloadRate: number | undefined): RelaySettings {
  const rate = head.hasBody && source.hasBody ? (source.rateLimit ?? offloadRate ?? call.rateLimit) : 0;
  return { rate, bodyTimeout: call.bodyTimeout, minRate: call.minResponseRate, grace: call.rateGrace };
}

/**
 * The client side of a transfer from the head on: writes the head (deferred, see below),
 * moves the body from the source to the sink with backpressure end to end (through the
 * throttle when there is a rate), keeps the body idle timer, counts the bytes, and ends.
 *
 * The head is written with the first body bytes, at the end, or one loop turn later,
 * whichever comes first: an upstream error parsed in the same read (a bad first chunk)
 * then still gets a clean 502 instead of a cut connection. undici reports such an error
 * when the socket's close callback runs, at the end of that loop turn.
 *
 * The minimum response rate is Kestrel's: each time the client holds the relay up (the
 * sink asks to wait), it must take what is queued for it at that rate, and the clock
 * runs only then. What the OS socket buffers hold is invisible here: the rate is checked
 * at the granularity of the proxy's own buffers, so it cuts clients that read far slower
 * than the rate, late rather than wrongly.
 */
export class BodyRelay {
  /** Response body bytes written towards the client. */
  bytes = 0;
  #state: 'streaming' | 'ending' | 'stopped' = 'streaming';
  #pendingHead: ClientHead | undefined;
  #headSent = false;
  #idle: NodeJS.Timeout | undefined;
  readonly #throttle: Throttle | undefined;
  /** Made on the first backpressure pause (most small responses never pause), kept until stop(). */
  #onSinkDrain: (() => void) | undefined;
  #onThrottleDrain: (() => void) | undefined;
  readonly #created = performance.now();
  /** While the client holds the relay up: when that began, what it owed, and the deadline. */
  #blockedAt = 0;
  #owed = 0;
  /** Made on the first wait for the client when there is a minimum rate. */
  #slow: Deadline | undefined;

  constructor(
    private readonly owner: RelayOwner,
    private readonly sink: Sink,
    private readonly source: ResponseSource,
    head: ClientHead,
    private readonly settings: RelaySettings,
  ) {
    this.#pendingHead = head;
    setImmediate(deferFlush, this);
    if (settings.rate > 0) this.#throttle = this.#createThrottle(settings.rate);
  }

  /** Whether the head has gone out: after that, a failure can only cut the connection. */
  get headSent(): boolean {
    return this.#headSent;
  }

  write(chunk: Buffer): void {
    if (this.#state !== 'streaming') return;
    this.#idle?.refresh();
    if (this.#pendingHead) this.#writeHead();
    const throttle = this.#throttle;
    if (throttle) {
      if (throttle.write(chunk)) return;
      this.source.pause();
      if (!this.#onThrottleDrain) throttle.on('drain', (this.#onThrottleDrain = () => this.#resumeSource()));
      return;
    }
    this.bytes += chunk.length;
    if (this.sink.write(chunk)) return;
    this.source.pause();
    this.#blocked();
    if (!this.#onSinkDrain) this.sink.onDrain((this.#onSinkDrain = () => this.#resumeSource()));
  }

  /** The source ended: the head (if still pending) and the rest go out, then the owner hears `relayFinished`. */
  end(): void {
    if (this.#state !== 'streaming') return;
    this.#state = 'ending';
    clearTimeout(this.#idle);
    if (this.#pendingHead) this.#writeHead();
    const throttle = this.#throttle;
    if (throttle) {
      throttle.once('end', () => this.sink.end(this.#finished));
      throttle.end();
    } else {
      this.sink.end(this.#finished);
    }
  }

  /** Stops everything: timers, listeners, the throttle; a head not yet written never will be. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#pendingHead = undefined;
    clearTimeout(this.#idle);
    this.#slow?.stop();
    if (this.#onSinkDrain) this.sink.offDrain(this.#onSinkDrain);
    const throttle = this.#throttle;
    if (throttle) {
      throttle.removeAllListeners('data');
      throttle.destroy();
    }
  }

  /** One loop turn after the head was ready: write it if no body byte has, and start the idle timer. */
  flush(): void {
    if (this.#state === 'stopped') return;
    if (this.#pendingHead) this.#writeHead();
    const { bodyTimeout } = this.settings;
    if (this.#state === 'streaming' && bodyTimeout > 0) this.#idle = setTimeout(idleTimedOut, bodyTimeout, this);
  }

  tooSlow(): void {
    if (this.#state === 'stopped') return;
    const { minRate, grace } = this.settings;
    const waited = `${this.#owed} bytes waiting for ${Math.round(performance.now() - this.#blockedAt)} ms`;
    const limit = `minDataRate.response: ${minRate} bytes/s after ${grace} ms`;
    this.owner.fail(new ProxyError('HANDOFF_RESPONSE_TOO_SLOW', `Client read too slowly (${waited}; ${limit}): ${this.owner.describe()}`));
  }

  idleTimedOut(): void {
    if (this.#state !== 'streaming') return;
    // A pipelined response waiting behind another on its connection cannot make progress:
    // its idle clock starts when it becomes the connection's current one (touch()).
    if (this.sink.queued) {
      this.#idle!.refresh();
      return;
    }
    const message = `No body progress for ${this.settings.bodyTimeout} ms: ${this.owner.describe()}`;
    this.owner.fail(new ProxyError('HANDOFF_BODY_TIMEOUT', message));
  }

  /** Restarts the idle clock: the sink can now take what it could not. */
  touch(): void {
    this.#idle?.refresh();
  }

  readonly #finished = (): void => {
    if (this.#state === 'ending') this.owner.relayFinished();
  };

  #writeHead(): void {
    const { status, headers, length, hasBody } = this.#pendingHead!;
    this.#pendingHead = undefined;
    this.sink.head(status, headers, length, hasBody);
    this.#headSent = true;
  }

  /** The sink asked to wait: with a minimum rate, the client now has a deadline to take what it owes. */
  #blocked(): void {
    const { minRate, grace } = this.settings;
    if (minRate === 0) return;
    const now = performance.now();
    this.#blockedAt = now;
    this.#owed = this.sink.pending;
    this.#slow ??= new Deadline(() => this.tooSlow());
    this.#slow.set(Math.max(grace - (now - this.#created), (this.#owed * 1000) / minRate));
  }

  #resumeSource(): void {
    this.#slow?.clear();
    if (this.#state !== 'streaming') return;
    this.#idle?.refresh();
    this.source.resume();
  }

  #createThrottle(rate: number): Throttle {
    const throttle = createThrottle(rate);
    let resumeThrottle: (() => void) | undefined;
    throttle.on('data', (chunk: Buffer) => {
      this.#idle?.refresh();
      this.bytes += chunk.length;
      if (this.sink.write(chunk)) return;
      throttle.pause();
      this.#blocked();
      if (resumeThrottle) return;
      resumeThrottle = () => {
        this.#slow?.clear();
        this.#idle?.refresh();
        throttle.resume();
      };
      this.#onSinkDrain = resumeThrottle;
      this.sink.onDrain(resumeThrottle);
    });
    throttle.on('error', (err) => this.owner.fail(toProxyError(err, this.owner.describe(), true)));
    return throttle;
  }
}

// Timer and immediate callbacks take the relay as their argument: no closure per request.
function idleTimedOut(relay: BodyRelay): void {
  relay.idleTimedOut();
}

function flush(relay: BodyRelay): void {
  relay.flush();
}

function deferFlush(relay: BodyRelay): void {
  setImmediate(flush, relay);
}
