import type { IncomingMessage } from 'node:http';
import { ProxyError, UploadRate } from '@handoff/core';
import type { ResolvedLimits } from './options';

/**
 * The client's request body, pulled one chunk at a time (`req.read()`, so the first pull is
 * what sends `100 Continue` under core's expectContinue). Bounded by `maxSize`, by
 * `bodyTimeout` and by the minimum rate (core's UploadRate), both counted only while
 * waiting for the client: while the store is busy the client is not the slow one.
 * A failure (a limit, the client leaving) rejects the pending `next()` and every later one.
 */
export class ClientBody {
  #bytes = 0;
  #ended = false;
  #failure: ProxyError | undefined;
  #wake: { resolve(): void; reject(err: ProxyError): void } | undefined;
  #idle: NodeJS.Timeout | undefined;
  readonly #rate: UploadRate | undefined;
  #rejectFailed!: (err: ProxyError) => void;
  /** Rejects with the body's failure: race it with any other wait (storage), so a client leaving is heard at once. */
  readonly failed: Promise<never> = new Promise<never>((_, reject) => (this.#rejectFailed = reject));

  constructor(
    private readonly req: IncomingMessage,
    private readonly limits: ResolvedLimits,
    /** `PUT /uploads/a`, for messages. */
    private readonly what: string,
  ) {
    this.failed.catch(() => undefined);
    const { request, grace } = limits.minDataRate;
    if (request > 0) {
      const rate: UploadRate = new UploadRate(request, grace, () => this.fail(this.#tooSlow(rate)));
      this.#rate = rate;
    }
    req.on('readable', this.#onReadable);
    req.on('end', this.#onEnd);
    req.on('error', this.#onGone);
    req.on('close', this.#onClose);
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The failure, once there is one. */
  get failure(): ProxyError | undefined {
    return this.#failure;
  }

  /** Resolves like `promise`, or rejects as soon as the body fails. */
  guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.failed]);
  }

  /** The next chunk, or null once the body has ended. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const chunk = this.req.read() as Buffer | null;
      if (chunk !== null) return this.#received(chunk);
      if (this.#ended) return null;
      await this.#wait();
    }
  }

  /** Fails the body: the pending `next()` rejects with `err`, and so does every later one. */
  fail(err: ProxyError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#rejectFailed(err);
    this.#stopWaiting();
    this.#wake?.reject(err);
    this.#wake = undefined;
  }

  /** Stops listening; the request is left as it is. */
  stop(): void {
    this.#stopWaiting();
    this.req.off('readable', this.#onReadable);
    this.req.off('end', this.#onEnd);
    this.req.off('close', this.#onClose);
    // An 'error' after this must still not throw: the listener stays.
  }

  #received(chunk: Buffer): Buffer {
    this.#stopWaiting();
    this.#rate?.received(chunk.length);
    this.#bytes += chunk.length;
    if (this.#bytes > this.limits.maxSize) {
      const err = new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Upload exceeds maxSize (${this.limits.maxSize} bytes): ${this.what}`);
      this.fail(err);
      throw err;
    }
    return chunk;
  }

  #wait(): Promise<void> {
    this.#rate?.waiting();
    if (this.limits.bodyTimeout > 0 && !this.#idle) {
      const err = () =>
        new ProxyError('HANDOFF_REQUEST_TIMEOUT', `Client sent no upload bytes for ${this.limits.bodyTimeout} ms: ${this.what}`);
      this.#idle = setTimeout(() => this.fail(err()), this.limits.bodyTimeout);
    }
    return new Promise<void>((resolve, reject) => (this.#wake = { resolve, reject }));
  }

  #stopWaiting(): void {
    this.#rate?.stop();
    clearTimeout(this.#idle);
    this.#idle = undefined;
  }

  #tooSlow(rate: UploadRate): ProxyError {
    const limit = `minDataRate.request: ${this.limits.minDataRate.request} bytes/s after ${this.limits.minDataRate.grace} ms`;
    return new ProxyError('HANDOFF_REQUEST_TOO_SLOW', `Client sent its upload too slowly (${rate.describe()}; ${limit}): ${this.what}`);
  }

  #resume(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.resolve();
  }

  readonly #onReadable = (): void => this.#resume();

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#resume();
  };

  readonly #onGone = (): void => {
    if (!this.#ended) this.fail(clientAborted(this.what));
  };

  readonly #onClose = (): void => {
    if (!this.req.complete) this.fail(clientAborted(this.what));
  };
}

export function clientAborted(what: string): ProxyError {
  return new ProxyError('HANDOFF_CLIENT_ABORTED', `Client went away during the upload: ${what}`);
}
