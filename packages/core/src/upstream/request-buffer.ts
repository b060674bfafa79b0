import type { IncomingMessage } from 'node:http';
import type { ResolvedCall } from '../options/resolve';
import { hasRequestBody, idleTimer, tooLarge, uploadRate, type BodyOwner, type BodyPrefix } from './request-body';
import type { UploadRate } from './upload-rate';

/**
 * How many bytes to set aside for reading this request's body whole before its transfer
 * asks for a slot: its declared length when that fits the call's `requestBuffer`, the whole
 * buffer for a body of unknown length, or 0 to stream it (too large, none, or already read).
 */
export function bufferSize(req: IncomingMessage, call: ResolvedCall): number {
  if (call.body !== 'request' || call.requestBuffer === 0 || req.readableDidRead || req.readableEnded || !hasRequestBody(req)) return 0;
  const declared = req.headers['content-length'];
  if (declared === undefined || req.headers['transfer-encoding'] !== undefined) return call.requestBuffer;
  const length = Number(declared);
  return length <= call.requestBuffer ? length : 0;
}

/** Where the bytes set aside for buffering come from: the proxy's requestBufferTotal. */
export interface BufferBudget {
  /** Takes `bytes`; false when that much is not left. */
  reserveBuffer(bytes: number): boolean;
  releaseBuffer(bytes: number): void;
}

/**
 * Starts reading this request's body whole, when it should be (bufferSize) and the budget
 * has room; otherwise undefined, and the body streams after admission.
 */
export function startBuffering(req: IncomingMessage, call: ResolvedCall, owner: BufferOwner, budget: BufferBudget): RequestBuffer | undefined {
  const size = bufferSize(req, call);
  if (size === 0 || !budget.reserveBuffer(size)) return undefined;
  return new RequestBuffer(req, owner, call, () => budget.releaseBuffer(size));
}

/** The transfer a buffered body belongs to. */
export interface BufferOwner extends BodyOwner {
  /**
   * The body was read: whole, as one buffer (so it can be sent again, for a retry or a
   * redirect), or, past the buffer, its start, to go first while the rest streams.
   */
  bodyRead(body: Buffer | BodyPrefix): void;
}

/**
 * Reads a request body into memory before its transfer waits for a slot, as nginx's
 * proxy_request_buffering does: an upload that trickles in holds a connection and the
 * bytes it sent, never a slot of the gate. Bounded by `limit` (past it, what was read is
 * handed over and the rest streams), by `maxBodySize`, by `bodyTimeout` between chunks,
 * and by the minimum request rate.
 */
export class RequestBuffer {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #done = false;
  readonly #idle: NodeJS.Timeout | undefined;
  readonly #rate: UploadRate | undefined;
  readonly #limit: number;
  #unreserve: (() => void) | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly owner: BufferOwner,
    private readonly call: ResolvedCall,
    /** Gives the bytes set aside back; once, when the transfer settles (its body lives until then). */
    unreserve: () => void,
  ) {
    this.#limit = call.requestBuffer;
    this.#unreserve = unreserve;
    this.#idle = idleTimer(call, owner);
    this.#rate = uploadRate(call, owner);
    req.on('data', this.#onData);
    req.on('end', this.#onEnd);
    // A client that goes away is heard from the response's close; its request must not throw meanwhile.
    req.on('error', this.#onError);
    this.#rate?.waiting();
  }

  /** Stops reading and gives the bytes set aside back: the transfer has settled. */
  release(): void {
    this.stop();
    // Also when the rate went on with the body's prefix: its deadline's timer may still be pending.
    this.#rate?.stop();
    this.#unreserve?.();
    this.#unreserve = undefined;
  }

  /** Stops reading; nothing more reaches the owner. */
  stop(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#idle);
    this.#rate?.stop();
    this.req.off('data', this.#onData);
    this.req.off('end', this.#onEnd);
    this.req.off('error', this.#onError);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#idle?.refresh();
    this.#rate?.received(chunk.length);
    this.#bytes += chunk.length;
    const { maxBodySize } = this.call;
    if (maxBodySize > 0 && this.#bytes > maxBodySize) {
      this.stop();
      return this.owner.fail(tooLarge(this.call, this.owner.describe()));
    }
    this.#chunks.push(chunk);
    if (this.#bytes <= this.#limit) return this.#rate?.waiting();
    // Past the buffer: the rest streams after admission, at the upstream's pace.
    this.req.pause();
    const prefix: BodyPrefix = { chunks: this.#chunks, rate: this.#rate };
    this.#done = true;
    clearTimeout(this.#idle);
    this.req.off('data', this.#onData);
    this.req.off('end', this.#onEnd);
    this.req.off('error', this.#onError);
    this.owner.bodyRead(prefix);
  };

  readonly #onEnd = (): void => {
    // One copy: the chunks are views of the connection's read buffers, which they would keep alive whole.
    const body = Buffer.concat(this.#chunks, this.#bytes);
    this.stop();
    this.owner.bodyRead(body);
  };

  readonly #onError = (): void => this.stop();
}
