import type { Dispatcher } from 'undici';

/** The parts of a transfer an attempt reports to. */
export interface AttemptOwner {
  readonly attempt: Attempt | undefined;
  upstreamConnected(): void;
  upstreamHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean;
  upstreamData(chunk: Buffer): boolean;
  upstreamComplete(): void;
  upstreamError(err: Error): void;
}

/**
 * undici's dispatch handler for one upstream request of a transfer. A retry or a
 * followed redirect starts a new attempt; callbacks from a superseded one are
 * ignored, so a late error from an aborted hop cannot touch the transfer.
 * The classic handler methods are undici 7's native interface: they hand over raw
 * header buffers, parsed once by the transfer instead of by undici and again by us.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | undefined;
  #abortReason: Error | undefined;

  constructor(private owner: AttemptOwner) {}

  /** Passes the rest of this response (its body) to another owner, whose `attempt` is this one. */
  handOver(owner: AttemptOwner): void {
    this.owner = owner;
  }

  get connected(): boolean {
    return this.#abort !== undefined;
  }

  /** Aborts this request now if it is connected, or as soon as undici connects it. */
  abort(reason: Error): void {
    if (this.#abortReason) return;
    this.#abortReason = reason;
    this.#abort?.(reason);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#abortReason || this.owner.attempt !== this) return abort(this.#abortReason ?? new Error('superseded'));
    this.#abort = abort;
    this.owner.upstreamConnected();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.owner.attempt !== this) return false;
    return this.owner.upstreamHeaders(statusCode, rawHeaders, resume);
  }

  onData(chunk: Buffer): boolean {
    if (this.owner.attempt !== this) return false;
    return this.owner.upstreamData(chunk);
  }

  onComplete(): void {
    if (this.owner.attempt === this) this.owner.upstreamComplete();
  }

  onError(err: Error): void {
    if (this.owner.attempt === this) this.owner.upstreamError(err);
  }
}
