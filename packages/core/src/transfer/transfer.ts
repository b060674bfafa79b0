import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError, describeTarget, toProxyError } from '../errors';
import type { Instruction } from '../offload/instruction';
import { fromBackend, targetSource, type Offload } from '../offload/performer';
import type { OffloadStart } from '../offload/start';
import { describeStart } from '../offload/target';
import type { ResolvedCall } from '../options/resolve';
import { BodyRelay, relaySettings, type RelayOwner } from '../relay/body';
import { declaredLength, draftHead, finalHead, hookFailed, isPromise, runHook } from '../relay/head';
import { discardBody, type Headers, type ResponseSource, type SourceHead } from '../relay/source';
import { ResponseSink } from '../sink/response-sink';
import type { Sink } from '../sink/sink';
import { SocketSink } from '../sink/socket-sink';
import type { ProxyOutcome, ResponseHead } from '../types';
import { callExchange } from '../upstream/context';
import type { ExchangeListener, UpstreamExchange } from '../upstream/exchange';
import type { BodyPrefix } from '../upstream/request-body';
import { Admission, type AdmissionOwner } from './admission';
import { errorResponse, writeAnswer, type ErrorResponse } from './answer';
import { ClientWatch, type ClientOwner } from './client';
import type { TransferHost } from './host';
import type { Linked } from './list';
import { outcomeOf } from './outcome';
import { HOLDS_SLOT, type State } from './state';

/**
 * One proxied request, from the gate to the last byte, as a state machine: every
 * transition is a method here, and what may happen in a state follows from the state
 * alone. Admission to the gate, the source (upstream exchange or file), the head
 * pipeline, the body relay, the error answer and the client's events each live in their
 * own module.
 */
export class Transfer implements AdmissionOwner, ExchangeListener, RelayOwner, ClientOwner, Linked<Transfer> {
  readonly done: Promise<ProxyOutcome>;
  outcome: ProxyOutcome | undefined;
  listPrev: Transfer | undefined = undefined;
  listNext: Transfer | undefined = undefined;

  #state: State = 'admitting';
  #source: ResponseSource | undefined;
  #relay: BodyRelay | undefined;
  #offload: Offload | undefined;
  /** Set for `proxy.offload()`: the instruction to perform instead of asking `url`. */
  #pending: OffloadStart | ProxyError | undefined;
  #admission: Admission | undefined;
  #status = 0;
  #error: ProxyError | undefined;
  #headersMs: number | undefined;
  #instructionMs = 0;
  #resolve!: (outcome: ProxyOutcome) => void;
  readonly #started = performance.now();
  readonly #sink: Sink;
  #client: ClientWatch | undefined;

  constructor(
    private readonly host: TransferHost<Transfer>,
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
    this.#admission = new Admission(this, this.host, this.req, this.res, this.call, this.url, client);
    this.#admission.start(!this.#pending);
  }

  /** The upload, the gate, the relay or a forwarded body broke. */
  fail(err: ProxyError): void {
    this.#fail(err);
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
    this.#admission?.connectionFree();
  }

  clientGone(): void {
    const state = this.#state;
    if (state === 'settled' || state === 'overflowing') return;
    if (state === 'failing') return this.#settle();
    this.#fail(new ProxyError('HANDOFF_CLIENT_ABORTED', `Client went away before the response was complete: ${this.describe()}`), true);
  }

  signalAborted(): void {
    this.abort('aborted by its signal');
  }

  // AdmissionOwner

  admitted(body: Buffer | BodyPrefix | undefined): void {
    if (this.#state !== 'admitting') return this.host.gate.release();
    this.#state = 'awaitingHead';
    try {
      const pending = this.#pending;
      if (pending) {
        this.#pending = undefined;
        this.#perform(pending as OffloadStart, undefined);
      } else {
        this.#source = callExchange(this, this.host, this.req, this.call, this.url, this, body);
      }
      this.#source!.start();
    } catch (err) {
      this.#fail(toProxyError(err, this.describe(), false));
    }
  }

  overflowed(accepted: Promise<ProxyOutcome>): void {
    if (this.#state !== 'admitting') return;
    this.#state = 'overflowing';
    void accepted.then((outcome) => this.#settle(outcome));
  }

  // SourceListener

  onInstruction(backend: UpstreamExchange, instruction: Instruction, headers: Headers, length: number | null, rate: number | undefined): void {
    if (backend !== this.#source || this.#state !== 'awaitingHead') return;
    this.#instructionMs = performance.now() - this.#started;
    try {
      const { start, body } = fromBackend(backend, instruction, headers, length, rate, this.call, this);
      this.#perform(start, body);
      this.#source!.start();
    } catch (err) {
      this.#fail(toProxyError(err, this.describe(), false));
    }
  }

  onEarlyHints(source: ResponseSource, links: string[]): void {
    if (source === this.#source && this.#state === 'awaitingHead') this.#sink.earlyHints(links);
  }

  onResponseStart(source: ResponseSource, head: SourceHead): void {
    if (source !== this.#source || this.#state !== 'awaitingHead') return;
    this.#headersMs = performance.now() - this.#started;
    const length = declaredLength(head, this.req);
    const draft = draftHead(head, this.req, this.res, this.#offload?.kept);
    const result = runHook(this.call.onHeaders, draft, this.describe(), this.call.headersTimeout);
    if (!isPromise<ResponseHead>(result)) return this.#sendHead(result, length, head);
    this.#state = 'headHook';
    source.pause();
    result.then(
      (final) => {
        if (this.#state !== 'headHook' && this.#state !== 'headHookDone') return;
        this.#sendHead(final, length, head);
        // #sendHead moved on: to streaming, to ending (a bodiless answer), or failing.
        if ((this.#state as State) === 'streaming') source.resume();
      },
      (err: unknown) => {
        if (this.#state === 'headHook' || this.#state === 'headHookDone') this.#fail(hookFailed(err, this.describe()));
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

  relayFinished(): void {
    if (this.#state === 'ending') this.#settle();
  }

  // Transitions

  /** Performs an offload instruction in this transfer, holding the same slot: its target becomes the source. */
  #perform(start: OffloadStart, backendBody: Offload['backendBody']): void {
    this.#offload = { kind: start.instruction.kind, instructionMs: this.#instructionMs, kept: start.kept, rate: start.rate, backendBody };
    this.#source = targetSource(this, this.host, this.req, this.call, start);
  }

  /** Validates the head and hands it to a new relay: `streaming`, or `ending` for a bodiless answer. */
  #sendHead(head: ResponseHead | ProxyError, length: number | null, source: SourceHead): void {
    const final = head instanceof ProxyError ? head : finalHead(head, length, this.req, this.res, this.call.onHeaders !== undefined, this.describe());
    if (final instanceof ProxyError) return this.#fail(final);
    this.#status = final.status;
    const relay = new BodyRelay(this, this.#sink, this.#source!, final, relaySettings(this.call, final, source, this.#offload?.rate));
    this.#relay = relay;
    if (this.#state === 'headHookDone') {
      this.#state = 'ending';
      return relay.end();
    }
    this.#state = 'streaming';
    if (final.hasBody || !source.hasBody) return;
    // A bodiless answer (HEAD client, or onHeaders chose 204/304): finish now and drop the
    // source's body (its connection is destroyed rather than pooled half-read) unless the cache stores it.
    discardBody(this.#source!, new ProxyError('HANDOFF_ABORTED', `Upstream body not needed: ${this.describe()}`));
    this.#end();
  }

  /** The source has nothing more to send: its slot goes, and the relay finishes the client's response. */
  #end(): void {
    this.#state = 'ending';
    this.host.gate.release();
    this.#relay!.end();
  }

  /**
   * Ends the transfer with an error, once: the source is aborted (an upstream socket is
   * destroyed, never pooled half-read), the relay stops, the slot is released, and the
   * client gets an error answer if nothing was sent yet, or a cut connection.
   */
  #fail(error: ProxyError, clientGone = false): void {
    const state = this.#state;
    // An overflowing request is the queue's: it answers the client, and its outcome settles the transfer.
    if (state === 'failing' || state === 'settled' || state === 'overflowing') return;
    this.#state = 'failing';
    this.#error = error;
    this.#admission?.stop();
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

  /** `queued`: the outcome of handing the request to the proxy's queue. */
  #settle(queued?: ProxyOutcome): void {
    if (this.#state === 'settled') return;
    this.#state = 'settled';
    this.#relay?.stop();
    this.#client?.stop();
    this.#offload?.backendBody?.abort(new Error('transfer settled'));
    this.#admission?.release();
    const outcome = queued ?? outcomeOf(this.#status, this.#relay?.bytes ?? 0, this.#started, this.#error, this.#headersMs, this.#offload);
    this.outcome = outcome;
    this.host.settled(this);
    try {
      this.call.onComplete?.(outcome);
    } finally {
      this.#resolve(outcome);
    }
  }
}
