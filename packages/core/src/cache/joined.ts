import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { kFleet, type FleetMember } from './fleet-lock';
import { OwnController } from './own-controller';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Dispatch = Dispatcher.Dispatch;
type Options = Dispatcher.DispatchOptions;

export type Outcome = 'complete' | 'failed' | 'aborted';

/**
 * One request passing through the coalescer. Its handler is started once (a waiter
 * as soon as it joins, so it can be aborted while it waits) and sees one controller
 * throughout, which forwards to whichever real request is serving it. Aborted while
 * no real request serves it (waiting, here or on another instance), it answers its
 * handler with the abort itself, as a dispatcher would.
 */
export class Joined implements Handler, FleetMember {
  onSettle: ((outcome: Outcome, err?: Error) => void) | undefined;
  onOwnAbort: (() => void) | undefined;
  /** Told when this request starts (true) and stops (false) waiting for another instance. */
  onFleetWait: ((waiting: boolean) => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  fleetDeadline: number | undefined;
  #inner: Controller | undefined;
  #started = false;
  #settled = false;
  #inFleet = false;

  readonly controller = new OwnController({
    onAbort: (reason) => {
      this.onOwnAbort?.();
      if (this.#inner) return this.#inner.abort(reason);
      queueMicrotask(() => this.#settle('aborted', reason));
    },
    onPause: () => this.#inner?.pause(),
    onResume: () => this.#inner?.resume(),
  });

  constructor(
    private readonly opts: Options,
    private readonly handler: Handler,
    private readonly next: Dispatch,
  ) {}

  start(context?: unknown): void {
    if (this.#started) return;
    this.#started = true;
    this.handler.onRequestStart?.(this.controller, context ?? {});
  }

  /** Sends the request on through the cache; `viaFleet` lets it take (or wait for) the fleet-wide lock on a miss. */
  dispatch(viaFleet = false): void {
    if (this.controller.aborted) return;
    if (this.#inFleet) {
      this.#inFleet = false;
      this.onFleetWait?.(false);
    }
    try {
      this.next(viaFleet ? ({ ...this.opts, [kFleet]: this } as Options) : this.opts, this);
    } catch (err) {
      this.onResponseError(this.controller, err as Error);
    }
  }

  /** Another instance is fetching this response: waits (abortable) until the fleet lock says to go on. */
  waitForFleet(): void {
    this.start();
    if (this.#inFleet) return;
    this.#inFleet = true;
    this.onFleetWait?.(true);
  }

  /** Fails a waiter that was never dispatched. */
  fail(err: Error): void {
    if (this.controller.aborted || this.#settled) return;
    this.#settled = true;
    this.handler.onResponseError?.(this.controller, err);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#inner = controller;
    if (this.controller.reason) return controller.abort(this.controller.reason);
    if (this.controller.paused) controller.pause();
    this.start(context);
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.handler.onRequestUpgrade?.(this.controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.#inner = controller;
    this.handler.onResponseStart?.(this.controller, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    this.handler.onResponseData?.(this.controller, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: IncomingHttpHeaders): void {
    if (this.#settled) return;
    this.#settled = true;
    this.handler.onResponseEnd?.(this.controller, trailers);
    this.onSettle?.('complete');
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.#settle(this.controller.aborted ? 'aborted' : 'failed', err);
  }

  #settle(outcome: 'failed' | 'aborted', err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    // The group is settled first: the handler may react by dispatching again (a retry),
    // which must start a new group rather than join this finished one.
    this.onSettle?.(outcome, err);
    this.handler.onResponseError?.(this.controller, err);
  }
}
