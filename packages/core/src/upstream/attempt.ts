import type { Dispatcher } from 'undici';
import type { ParsedHeaders } from '../headers/response-headers';
import type { InterimListener } from './interim';

type Controller = Dispatcher.DispatchController;

/** The exchange an attempt reports to: only while the attempt is its current one. */
export interface AttemptOwner {
  isCurrent(attempt: Attempt): boolean;
  attemptConnected(): void;
  attemptHead(statusCode: number, headers: ParsedHeaders): void;
  /** A 1xx response, which never reaches the handlers above upstream/interim.ts. */
  attemptInterim(statusCode: number, headers: ParsedHeaders): void;
  attemptData(chunk: Buffer): void;
  attemptEnd(): void;
  attemptError(err: Error): void;
}

/**
 * undici's dispatch handler for one upstream request, on its current handler API. A
 * retry or a followed redirect starts a new attempt; callbacks from a superseded one are
 * dropped by identity, so a late error from an aborted hop cannot touch the exchange.
 */
export class Attempt implements Dispatcher.DispatchHandler, InterimListener {
  #controller: Controller | undefined;
  #abortReason: Error | undefined;

  constructor(private readonly owner: AttemptOwner) {}

  /** Whether undici has started the request on a connection (or the cache is answering it). */
  get connected(): boolean {
    return this.#controller !== undefined;
  }

  /** Aborts this request now if it has started, or as soon as undici starts it. */
  abort(reason: Error): void {
    if (this.#abortReason) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  pause(): void {
    this.#controller?.pause();
  }

  resume(): void {
    this.#controller?.resume();
  }

  onRequestStart(controller: Controller): void {
    if (this.#abortReason || !this.owner.isCurrent(this)) return controller.abort(this.#abortReason ?? new Error('superseded'));
    this.#controller = controller;
    this.owner.attemptConnected();
  }

  onResponseStart(controller: Controller, statusCode: number, headers: ParsedHeaders): void {
    // An interceptor may answer with a controller of its own (a 304 replaying a stored body).
    this.#controller = controller;
    // undici's controller keeps the raw header buffers for the whole response, and they are
    // views of the socket's read that brought the head: up to 64 KiB held per stream, twice
    // what a stalled stream needs. Everything below us has read them by now.
    (controller as { rawHeaders?: unknown }).rawHeaders = null;
    if (this.owner.isCurrent(this)) this.owner.attemptHead(statusCode, headers);
  }

  onInterim(statusCode: number, headers: ParsedHeaders): void {
    if (this.owner.isCurrent(this)) this.owner.attemptInterim(statusCode, headers);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.owner.isCurrent(this)) this.owner.attemptData(chunk);
  }

  onResponseEnd(): void {
    if (this.owner.isCurrent(this)) this.owner.attemptEnd();
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.owner.isCurrent(this)) this.owner.attemptError(err);
  }
}
