import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError, describeTarget, toProxyError } from '../errors';
import type { Gate, Waiter } from '../gate/gate';
import type { Instruction } from '../offload/instruction';
import { fromBackend, targetSource, type Offload } from '../offload/performer';
import type { OffloadStart } from '../offload/start';
import { describeStart } from '../offload/target';
import type { ResolvedCall } from '../options/resolve';
import { BodyRelay, type RelayOwner } from '../relay/body';
import { declaredLength, draftHead, finalHead, isPromise, runHook } from '../relay/head';
import type { Headers, ResponseSource, SourceHead } from '../relay/source';
import { ResponseSink } from '../sink/response-sink';
import type { Sink } from '../sink/sink';
import { SocketSink } from '../sink/socket-sink';
import type { ProxyOutcome, ResponseHead } from '../types';
import { callExchange, type UpstreamContext } from '../upstream/context';
import type { ExchangeListener, UpstreamExchange } from '../upstream/exchange';
import { declaredTooLarge, type BodyPrefix } from '../upstream/request-body';
import { RequestBuffer, bufferSize, type BufferOwner } from '../upstream/request-buffer';
import type { UploadRate } from '../upstream/upload-rate';
import { errorResponse, writeAnswer, type ErrorResponse } from './answer';
import { ClientWatch, type ClientOwner } from './client';
import type { Linked } from './list';

/** What a transfer needs from the proxy that runs it. */
export interface TransferHost extends UpstreamContext {
  readonly gate: Gate;
  readonly closing: boolean;
  /** Takes `bytes` of the request-buffering budget; false when it has not that much left. */
  reserveBuffer(bytes: number): boolean;
  releaseBuffer(bytes: number): void;
  settled(transfer: Transfer): void;
}

/**
 * - `buffering`: reading a small request body whole, before asking for a slot;
 * - `waiting`: socket mode, behind another response on the connection, not yet admitted;
 * - `queued`: waiting for a slot in the gate;
 * - `awaitingHead`: holds a slot, the source is asked, no head yet (only the source retries, and only here);
 * - `headHook`: a head arrived and an async `onHeaders` runs; the source is paused;
 * - `headHookDone`: the same, but the source has ended meanwhile (a bodiless response) and gave its slot back;
 * - `streaming`: the head is out (or about to be) and the body flows;
 * - `ending`: the source ended and gave its slot back; the sink is finishing;
 * - `failing`: failed, the error answer is being written;
 * - `settled`: everything released, `done` resolved.
 */
type State =
  | 'buffering'
  | 'waiting'
  | 'queued'
  | 'awaitingHead'
  | 'headHook'
  | 'headHookDone'
  | 'streaming'
  | 'ending'
  | 'failing'
  | 'settled';

/**
 * States that hold a slot of the gate: leaving one releases it, exactly once. The gate
 * bounds upstream transfers, so the slot goes as soon as the source has ended, not when
 * a slow client has read the rest from the proxy's buffers.
 */
const HOLDS_SLOT: ReadonlySet<State> = new Set(['awaitingHead', 'headHook', 'streaming']);

/**
 * One proxied request, from the gate to the last byte, as a state machine: every
 * transition is a method here, and what may happen in a state follows from the state
 * alone. The source (upstream exchange or file), the head pipeline, the body relay, the
 * error answer and the client's events each live in their own module.
 */
export class Transfer implements Waiter, ExchangeListener, RelayOwner, BufferOwner, ClientOwner, Linked<Transfer> {
  readonly done: Promise<ProxyOutcome>;
  outcome: ProxyOutcome | undefined;
  listPrev: Transfer | undefined = undefined;
  listNext: Transfer | undefined = undefined;

  #state: State = 'queued';
  #source: ResponseSource | undefined;
  #relay: BodyRelay | undefined;
  #offload: Offload | undefined;
  /** Set for `proxy.offload()`: the instruction to perform instead of asking `url`. */
  #pending: OffloadStart | ProxyError | undefined;
  #upload: RequestBuffer | undefined;
  #body: Buffer | BodyPrefix | undefined;
  #reserved = 0;
  #status = 0;
  #error: ProxyError | undefined;
  #headersMs: number | undefined;
  #instructionMs = 0;
  #resolve!: (outcome: ProxyOutcome) => void;
  readonly #started = performance.now();
  readonly #sink: Sink;
  #client: ClientWatch | undefined;

  constructor(
    private readonly host: TransferHost,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly url: URL,
    private readonly call: ResolvedCall,
    pending?: OffloadStart | ProxyError,
  ) {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#sink = call.mode === 'socket' ? new SocketSink(req) : new ResponseSink(res);
    this.#pending = pending;
  }

  /** `GET http://host/path` for messages: the source's once there is one. */
  describe(): string {
    if (this.#source) return this.#source.describe();
    const { call, url } = this;
    if (this.#pending) return describeStart(this.#pending, call.method);
    return call.path === undefined ? describeTarget(call.method, url) : `${call.method} ${url.origin}${call.path}`;
  }

  /** Starts the transfer; the proxy owns the response from here on. */
  begin(): void {
    const client = new ClientWatch(this, this.req, this.res, this.call.signal);
    this.#client = client;
    if (client.signalAborted) return this.signalAborted();
    if (this.#pending instanceof ProxyError) return this.#fail(this.#pending);
    if (this.#pending) this.#instructionMs = performance.now() - this.#started;
    if (this.host.closing) return this.#fail(new ProxyError('HANDOFF_CLOSED', `Proxy is shutting down: ${this.describe()}`));
    if (this.call.body === 'request' && declaredTooLarge(this.req, this.call.maxBodySize)) return this.requestBodyTooLarge();
    const size = this.#pending ? 0 : bufferSize(this.req, this.call);
    if (size > 0 && this.host.reserveBuffer(size)) {
      this.#reserved = size;
      this.#state = 'buffering';
      this.#upload = new RequestBuffer(this.req, this, this.call.requestBuffer, this.call);
      return;
    }
    this.#askForSlot();
  }

  abort(reason = 'aborted by the caller'): void {
    this.#fail(new ProxyError('HANDOFF_ABORTED', `Transfer ${reason}: ${this.describe()}`));
  }

  /** Aborts at shutdown once the deadline has passed. */
  shutdown(): void {
    this.#fail(new ProxyError('HANDOFF_SHUTDOWN', `Proxy shut down before the transfer finished: ${this.describe()}`));
  }

  // ClientOwner

  responseCurrent(): void {
    // A response-mode relay waiting behind another response starts its idle clock now.
    this.#relay?.touch();
    if (this.#state === 'waiting') this.#askForSlot();
  }

  clientGone(): void {
    const state = this.#state;
    if (state === 'settled') return;
    if (state === 'failing') return this.#settle();
    this.#fail(new ProxyError('HANDOFF_CLIENT_ABORTED', `Client went away before the response was complete: ${this.describe()}`), true);
  }

  signalAborted(): void {
    this.abort('aborted by its signal');
  }

  // BufferOwner

  bodyBuffered(body: Buffer): void {
    this.#bodyRead(body);
  }

  bodyOverflowed(prefix: BodyPrefix): void {
    this.#bodyRead(prefix);
  }

  requestBodyStalled(): void {
    this.#fail(new ProxyError('HANDOFF_REQUEST_TIMEOUT', `Client sent no request body bytes for ${this.call.bodyTimeout} ms: ${this.describe()}`));
  }

  requestBodyTooLarge(): void {
    this.#fail(new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Request body exceeds maxBodySize (${this.call.maxBodySize} bytes): ${this.describe()}`));
  }

  requestBodyTooSlow(rate: UploadRate): void {
    const { minRequestRate, rateGrace } = this.call;
    const limit = `minDataRate.request: ${minRequestRate} bytes/s after ${rateGrace} ms`;
    this.#fail(new ProxyError('HANDOFF_REQUEST_TOO_SLOW', `Client sent its request body too slowly (${rate.describe()}; ${limit}): ${this.describe()}`));
  }

  // Waiter

  admit(): void {
    if (this.#state !== 'queued') return this.host.gate.release();
    this.#state = 'awaitingHead';
    try {
      const pending = this.#pending;
      if (pending) {
        this.#pending = undefined;
        this.#perform(pending as OffloadStart, undefined);
      } else {
        this.#source = callExchange(this, this.host, this.req, this.call, this.url, this, this.#body);
        this.#body = undefined;
      }
      this.#source!.start();
    } catch (err) {
      this.#fail(toProxyError(err, this.describe(), false));
    }
  }

  reject(err: ProxyError): void {
    this.#fail(err);
  }

  // SourceListener

  onInstruction(backend: UpstreamExchange, instruction: Instruction, headers: Headers, length: number | null, rate: number | undefined): void {
    if (backend !== this.#source || this.#state !== 'awaitingHead') return;
    this.#instructionMs = performance.now() - this.#started;
    try {
      const { start, body } = fromBackend(backend, instruction, headers, length, rate, this.call, {
        onIdle: () =>
          this.#fail(new ProxyError('HANDOFF_BODY_TIMEOUT', `Upstream body being forwarded stalled for ${this.call.bodyTimeout} ms: ${this.describe()}`)),
        onError: (err) => this.#fail(err),
      });
      this.#perform(start, body);
      this.#source!.start();
    } catch (err) {
      this.#fail(toProxyError(err, this.describe(), false));
    }
  }

  onResponseStart(source: ResponseSource, head: SourceHead): void {
    if (source !== this.#source || this.#state !== 'awaitingHead') return;
    this.#headersMs = performance.now() - this.#started;
    const length = declaredLength(head, this.req);
    const draft = draftHead(head, this.req, this.res, this.#offload?.kept);
    const hook = this.call.onHeaders;
    if (!hook) return this.#sendHead(draft, length, head);
    let result: ResponseHead | Promise<ResponseHead>;
    try {
      result = runHook(hook, draft);
    } catch (err) {
      return this.#hookFailed(err);
    }
    if (!isPromise<ResponseHead>(result)) return this.#sendHead(result, length, head);
    this.#state = 'headHook';
    source.pause();
    result.then(
      (final) => {
        const state = this.#state;
        if (state !== 'headHook' && state !== 'headHookDone') return;
        this.#sendHead(final, length, head);
        // #sendHead moved on: to streaming, to ending (a bodiless answer), or failing.
        if ((this.#state as State) === 'streaming') source.resume();
      },
      (err: unknown) => {
        if (this.#state === 'headHook' || this.#state === 'headHookDone') this.#hookFailed(err);
      },
    );
  }

  onResponseData(source: ResponseSource, chunk: Buffer): void {
    if (source === this.#source && this.#state === 'streaming') this.#relay!.write(chunk);
  }

  onResponseEnd(source: ResponseSource): void {
    if (source !== this.#source) return;
    if (this.#state === 'streaming') return this.#end();
    if (this.#state !== 'headHook') return;
    // Bodiless, ended while the hook runs: the upstream is done, the head goes out when the hook is.
    this.#state = 'headHookDone';
    this.host.gate.release();
  }

  onResponseError(source: ResponseSource, err: ProxyError): void {
    if (source === this.#source && this.#state !== 'ending') this.#fail(err);
  }

  // RelayOwner

  relayStalled(): void {
    this.#fail(new ProxyError('HANDOFF_BODY_TIMEOUT', `No body progress for ${this.call.bodyTimeout} ms: ${this.describe()}`));
  }

  relayTooSlow(owed: number, ms: number): void {
    const { minResponseRate, rateGrace } = this.call;
    const limit = `minDataRate.response: ${minResponseRate} bytes/s after ${rateGrace} ms`;
    this.#fail(new ProxyError('HANDOFF_RESPONSE_TOO_SLOW', `Client read too slowly (${owed} bytes waiting for ${ms} ms; ${limit}): ${this.describe()}`));
  }

  relayFailed(err: unknown): void {
    this.#fail(toProxyError(err, this.describe(), true));
  }

  relayFinished(): void {
    if (this.#state === 'ending') this.#settle();
  }

  // Transitions

  /** Into the gate: at once, or (socket mode, pipelined) once the response owns its connection. */
  #askForSlot(): void {
    if (this.call.mode === 'socket' && !this.#client!.current) {
      this.#state = 'waiting';
      return;
    }
    this.#state = 'queued';
    if (this.host.gate.enter(this)) this.admit();
  }

  #bodyRead(body: Buffer | BodyPrefix): void {
    if (this.#state !== 'buffering') return;
    this.#upload = undefined;
    this.#body = body;
    this.#askForSlot();
  }

  /** Performs an offload instruction in this transfer, holding the same slot: its target becomes the source. */
  #perform(start: OffloadStart, backendBody: Offload['backendBody']): void {
    this.#offload = { kind: start.instruction.kind, instructionMs: this.#instructionMs, kept: start.kept, rate: start.rate, backendBody };
    this.#source = targetSource(this, this.host, this.req, this.call, start);
  }

  /** Validates the head and hands it to a new relay: `streaming`, or `ending` for a bodiless answer. */
  #sendHead(head: ResponseHead, length: number | null, source: SourceHead): void {
    const final = finalHead(head, length, this.req);
    if (typeof final === 'string') {
      const by = this.call.onHeaders ? 'onHeaders produced' : 'Upstream sent';
      return this.#fail(new ProxyError('HANDOFF_INVALID_HEADER', `${by} an invalid response head (${final}): ${this.describe()}`));
    }
    this.#status = final.status;
    const call = this.call;
    const rate = final.hasBody && source.hasBody ? (source.rateLimit ?? this.#offload?.rate ?? call.rateLimit) : 0;
    const relay = new BodyRelay(this, this.#sink, this.#source!, final, { rate, bodyTimeout: call.bodyTimeout, minRate: call.minResponseRate, grace: call.rateGrace });
    this.#relay = relay;
    if (this.#state === 'headHookDone') {
      this.#state = 'ending';
      return relay.end();
    }
    this.#state = 'streaming';
    if (final.hasBody || !source.hasBody) return;
    // A bodiless answer (HEAD client, or onHeaders chose 204/304): finish now and drop the
    // source's body (its connection is destroyed rather than pooled half-read).
    this.#source!.abort(new ProxyError('HANDOFF_ABORTED', `Upstream body not needed: ${this.describe()}`));
    this.#end();
  }

  /** The source has nothing more to send: its slot goes, and the relay finishes the client's response. */
  #end(): void {
    this.#state = 'ending';
    this.host.gate.release();
    this.#relay!.end();
  }

  #hookFailed(err: unknown): void {
    this.#fail(new ProxyError('HANDOFF_HOOK_FAILED', `onHeaders failed: ${this.describe()}`, { cause: err }));
  }

  /**
   * Ends the transfer with an error, once: the source is aborted (an upstream socket is
   * destroyed, never pooled half-read), the relay stops, the slot is released, and the
   * client gets an error answer if nothing was sent yet, or a cut connection.
   */
  #fail(error: ProxyError, clientGone = false): void {
    const state = this.#state;
    if (state === 'failing' || state === 'settled') return;
    this.#state = 'failing';
    this.#error = error;
    if (state === 'queued') this.host.gate.leave(this);
    this.#upload?.stop();
    this.#source?.abort(error);
    const relay = this.#relay;
    relay?.stop();
    if (HOLDS_SLOT.has(state)) this.host.gate.release();
    if (relay?.headSent) {
      if (!clientGone) this.#sink.abort();
      return this.#settle();
    }
    this.#status = 0;
    if (clientGone) return this.#settle();
    const response = errorResponse(error, this.call.onError, this.host.options.retryAfter);
    if (isPromise<ErrorResponse>(response)) void response.then((answer) => this.#answer(answer));
    else this.#answer(response);
  }

  #answer(response: ErrorResponse): void {
    if (this.#state !== 'failing') return;
    this.#status = writeAnswer(this.#sink, response, this.req, this.res, this.#settleNow);
  }

  readonly #settleNow = (): void => this.#settle();

  #settle(): void {
    if (this.#state === 'settled') return;
    this.#state = 'settled';
    this.#relay?.stop();
    this.#client?.stop();
    this.#offload?.backendBody?.abort(new Error('transfer settled'));
    if (this.#reserved > 0) this.host.releaseBuffer(this.#reserved);
    const outcome: ProxyOutcome = { status: this.#status, bytes: this.#relay?.bytes ?? 0, durationMs: performance.now() - this.#started };
    if (this.#error) outcome.error = this.#error;
    if (this.#headersMs !== undefined) outcome.headersMs = this.#headersMs;
    if (this.#offload) {
      outcome.offload = this.#offload.kind;
      outcome.instructionMs = this.#offload.instructionMs;
    }
    this.outcome = outcome;
    this.host.settled(this);
    try {
      this.call.onComplete?.(outcome);
    } finally {
      this.#resolve(outcome);
    }
  }
}
