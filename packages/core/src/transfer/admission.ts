import type { IncomingMessage, ServerResponse } from 'node:http';
import { toProxyError, type ProxyError } from '../errors';
import type { Waiter } from '../gate/admission';
import type { ResolvedCall } from '../options/resolve';
import type { ProxyOutcome } from '../types';
import { declaredTooLarge, tooLarge, type BodyPrefix } from '../upstream/request-body';
import { startBuffering, type BufferOwner, type RequestBuffer } from '../upstream/request-buffer';
import type { ClientWatch } from './client';
import type { TransferHost } from './host';
import { overflowTo } from './overflow';

/** What admission tells the transfer it gets a slot for. */
export interface AdmissionOwner {
  describe(): string;
  /** A slot is held: the source is to be asked now, with the body read ahead (if any). */
  admitted(body: Buffer | BodyPrefix | undefined): void;
  /** The upload broke, the gate refused, or the overflow could not start. */
  fail(err: ProxyError): void;
  /** The gate was full and the call may overflow: the proxy's queue answers the client, and `accepted` settles the transfer. */
  overflowed(accepted: Promise<ProxyOutcome>): void;
}

/**
 * - `buffering`: reading a small request body whole, before asking for a slot;
 * - `waiting`: socket mode, behind another response on the connection, not yet in the gate;
 * - `queued`: in the gate, waiting for a slot;
 * - `done`: admitted, refused or stopped.
 */
type Step = 'starting' | 'buffering' | 'waiting' | 'queued' | 'done';

/**
 * Getting one request to a slot of the gate: a small body is read whole first (so a slow
 * upload never holds a slot), a socket-mode response waits for its turn on the
 * connection, then the gate admits it or refuses — and when its queue is full and the
 * call may overflow, the proxy's queue stores the request instead.
 */
export class Admission implements Waiter, BufferOwner {
  #step: Step = 'starting';
  #upload: RequestBuffer | undefined;
  #body: Buffer | BodyPrefix | undefined;

  constructor(
    private readonly owner: AdmissionOwner,
    private readonly host: TransferHost,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly call: ResolvedCall,
    private readonly url: URL,
    private readonly client: ClientWatch,
  ) {}

  /** `readBody`: the request's body goes upstream (not for an offload instruction, which has its own). */
  start(readBody: boolean): void {
    if (this.call.body === 'request' && declaredTooLarge(this.req, this.call.maxBodySize)) return this.owner.fail(tooLarge(this.call, this.describe()));
    this.#upload = readBody ? startBuffering(this.req, this.call, this, this.host) : undefined;
    if (this.#upload) this.#step = 'buffering';
    else this.#askForSlot();
  }

  describe(): string {
    return this.owner.describe();
  }

  /** Socket mode: the response now owns its connection. */
  connectionFree(): void {
    if (this.#step === 'waiting') this.#askForSlot();
  }

  /** The transfer failed or settled: out of the gate's queue, the upload's reading stopped. */
  stop(): void {
    if (this.#step === 'queued') this.host.gate.leave(this);
    this.#step = 'done';
    this.#upload?.stop();
  }

  /** The settled transfer's share of the proxy's buffer budget goes back. */
  release(): void {
    this.#upload?.release();
  }

  // BufferOwner

  bodyRead(body: Buffer | BodyPrefix): void {
    if (this.#step !== 'buffering') return;
    this.#body = body;
    this.#askForSlot();
  }

  fail(err: ProxyError): void {
    this.owner.fail(err);
  }

  // Waiter

  admit(): void {
    if (this.#step !== 'queued') return this.host.gate.release();
    this.#step = 'done';
    const body = this.#body;
    this.#body = undefined;
    this.owner.admitted(body);
  }

  reject(err: ProxyError): void {
    if (this.#step !== 'queued') return;
    this.#step = 'done';
    if (err.code === 'HANDOFF_QUEUE_FULL' && this.call.overflow) return this.#overflow();
    this.owner.fail(err);
  }

  /** Into the gate: at once, or (socket mode, pipelined) once the response owns its connection. */
  #askForSlot(): void {
    if (this.call.mode === 'socket' && !this.client.current) {
      this.#step = 'waiting';
      return;
    }
    this.#step = 'queued';
    if (this.host.gate.enter(this)) this.admit();
  }

  #overflow(): void {
    let accepted: Promise<ProxyOutcome>;
    try {
      accepted = overflowTo(this.host.options, this.req, this.res, this.call, this.url, this.#body);
    } catch (err) {
      return this.owner.fail(toProxyError(err, this.describe(), false));
    }
    this.owner.overflowed(accepted);
  }
}
