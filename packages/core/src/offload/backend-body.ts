import { Readable } from 'node:stream';
import type { Attempt, AttemptOwner } from '../upstream/attempt';

/** Most bytes of a backend body read and dropped so its keep-alive connection can be reused. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * The body of a backend response that carried an instruction and is not forwarded:
 * read and dropped while small (its connection goes back to the pool), otherwise
 * its connection is destroyed. Never holds the transfer up.
 */
export class DrainedBody implements AttemptOwner {
  #bytes = 0;
  #done = false;

  constructor(readonly attempt: Attempt) {}

  upstreamConnected(): void {}

  upstreamHeaders(): boolean {
    return false;
  }

  upstreamData(chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    if (this.#bytes <= DRAIN_LIMIT) return true;
    this.abort(new Error('backend body too large to drain'));
    return false;
  }

  upstreamComplete(): void {
    this.#done = true;
  }

  upstreamError(): void {
    this.#done = true;
  }

  /** Drops the connection if the body is still coming (the transfer has settled). */
  abort(reason: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.attempt.abort(reason);
  }
}

export interface ForwardedBodyEvents {
  /** ms without a backend chunk or a read by the target request before `onIdle`; 0 disables. */
  idleTimeout: number;
  onIdle(): void;
  onError(err: Error): void;
}

/**
 * The body of a backend response forwarded as the offload target's request body
 * (`Offload-Forward-Body`): a Readable fed by the backend attempt, with backpressure
 * both ways — the backend is paused while the target request does not read.
 */
export class ForwardedBody implements AttemptOwner {
  readonly stream: Readable;
  #paused = false;
  #complete = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly attempt: Attempt,
    private readonly resumeBackend: () => void,
    private readonly events: ForwardedBodyEvents,
  ) {
    this.stream = new Readable({
      read: () => {
        this.#timer?.refresh();
        if (!this.#paused) return;
        this.#paused = false;
        this.resumeBackend();
      },
      destroy: (err, callback) => {
        this.stop();
        if (!this.#complete) this.attempt.abort(err ?? new Error('forwarded body no longer needed'));
        callback(err);
      },
    });
    if (events.idleTimeout > 0) this.#timer = setTimeout(events.onIdle, events.idleTimeout);
  }

  upstreamConnected(): void {}

  upstreamHeaders(): boolean {
    return false;
  }

  upstreamData(chunk: Buffer): boolean {
    this.#timer?.refresh();
    if (this.stream.destroyed) return false;
    if (this.stream.push(chunk)) return true;
    this.#paused = true;
    return false;
  }

  upstreamComplete(): void {
    this.#complete = true;
    this.stop();
    if (!this.stream.destroyed) this.stream.push(null);
  }

  upstreamError(err: Error): void {
    if (this.#complete) return;
    this.#complete = true;
    this.stop();
    this.events.onError(err);
  }

  /** Aborts the backend response if it is still coming. */
  abort(reason: Error): void {
    this.stop();
    if (this.#complete) return;
    this.#complete = true;
    this.attempt.abort(reason);
    if (!this.stream.destroyed) this.stream.destroy();
  }

  private stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
