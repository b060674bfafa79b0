import { Readable } from 'node:stream';
import type { ProxyError } from '../errors';
import type { ExchangeListener, UpstreamExchange } from '../upstream/exchange';

/** Most bytes of a backend body read and dropped so its keep-alive connection can be reused. */
const DRAIN_LIMIT = 64 * 1024;

/** What takes the rest of a backend response that carried an instruction. */
export interface BackendBody {
  /** Drops the backend response if it is still coming (the transfer has settled). */
  abort(reason: Error): void;
}

/** The head events of a backend exchange come before a body is handed over: never here. */
function ignored(): void {}

/**
 * The body of a backend response that carried an instruction and is not forwarded:
 * read and dropped while small (its connection goes back to the pool), otherwise
 * its connection is destroyed. Never holds the transfer up.
 */
export class DrainedBody implements ExchangeListener, BackendBody {
  #bytes = 0;
  #done = false;

  constructor(private readonly backend: UpstreamExchange) {
    backend.handOver(this);
  }

  onResponseStart = ignored;
  onInstruction = ignored;

  onResponseData(_source: unknown, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > DRAIN_LIMIT) this.abort(new Error('backend body too large to drain'));
  }

  onResponseEnd(): void {
    this.#done = true;
  }

  onResponseError(): void {
    this.#done = true;
  }

  abort(reason: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.backend.abort(reason);
  }
}

export interface ForwardedBodyEvents {
  /** ms without a backend chunk or a read by the target request before `onIdle`; 0 disables. */
  idleTimeout: number;
  onIdle(): void;
  onError(err: ProxyError): void;
}

/**
 * The body of a backend response forwarded as the offload target's request body
 * (`Offload-Forward-Body`): a Readable fed by the backend exchange, with backpressure
 * both ways — the backend is paused while the target request does not read.
 */
export class ForwardedBody implements ExchangeListener, BackendBody {
  readonly stream: Readable;
  #paused = false;
  #complete = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backend: UpstreamExchange,
    private readonly events: ForwardedBodyEvents,
  ) {
    this.stream = new Readable({
      read: () => {
        this.#timer?.refresh();
        if (!this.#paused) return;
        this.#paused = false;
        this.backend.resume();
      },
      destroy: (err, callback) => {
        this.#stop();
        if (!this.#complete) this.backend.abort(err ?? new Error('forwarded body no longer needed'));
        callback(err);
      },
    });
    if (events.idleTimeout > 0) this.#timer = setTimeout(events.onIdle, events.idleTimeout);
    backend.handOver(this);
  }

  onResponseStart = ignored;
  onInstruction = ignored;

  onResponseData(_source: unknown, chunk: Buffer): void {
    this.#timer?.refresh();
    if (this.stream.destroyed || this.stream.push(chunk)) return;
    this.#paused = true;
    this.backend.pause();
  }

  onResponseEnd(): void {
    this.#complete = true;
    this.#stop();
    if (!this.stream.destroyed) this.stream.push(null);
  }

  onResponseError(_source: unknown, err: ProxyError): void {
    if (this.#complete) return;
    this.#complete = true;
    this.#stop();
    this.events.onError(err);
  }

  abort(reason: Error): void {
    this.#stop();
    if (this.#complete) return;
    this.#complete = true;
    this.backend.abort(reason);
    if (!this.stream.destroyed) this.stream.destroy();
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
