import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Throttle } from 'stream-throttle';
import type { Dispatcher } from 'undici';
import type { HttpCache } from './cache/http-cache';
import { takeConditional, type ClientConditional } from './cache/conditional';
import { kTrace, type CacheTrace } from './cache/trace';
import { markCached, traceFor } from './cache/transfer-hooks';
import { ProxyError, describeTarget, toProxyError } from './errors';
import type { Linked } from './transfer-list';
import type { Gate, Waiter } from './gate/gate';
import { mergePresetHeaders } from './headers/preset-headers';
import { buildRequestHeaders } from './headers/request-headers';
import { parseUpstreamHead } from './headers/response-headers';
import { checkResponseHead } from './headers/validate';
import type { ProxyOutcome, ResolvedCall, ResolvedProxyOptions, ResponseHead } from './options';
import { DrainedBody, ForwardedBody } from './offload/backend-body';
import { FileSource, type FileOwner } from './offload/file-source';
import {
  applyKeptHeaders,
  keptHeaders,
  readInstruction,
  readLimitRate,
  stripOffloadHeaders,
  type Instruction,
  type OffloadKind,
} from './offload/instruction';
import type { ResolvedOffloadRules } from './offload/rules';
import type { OffloadStart } from './offload/start';
import { instructionError, targetBody, targetHeaders, targetMethod, targetUrl } from './offload/target';
import { ResponseSink } from './sink/response-sink';
import type { Sink } from './sink/sink';
import { SocketSink } from './sink/socket-sink';
import { createThrottle } from './throttle/throttle';
import type { AllowPolicy } from './upstream/allow';
import { Attempt, type AttemptOwner } from './upstream/attempt';
import { defaultErrorResponse, errorResponseHeaders, onErrorResponse } from './upstream/error-response';
import { hopHeaders, isRedirect, nextHop } from './upstream/redirect';
import { declaredTooLarge, replayable, requestBody, type BodyOwner, type UpstreamBody } from './upstream/request-body';
import { retryable } from './upstream/retry';

/** What a transfer needs from the proxy that runs it. */
export interface TransferHost {
  readonly options: ResolvedProxyOptions;
  readonly gate: Gate;
  readonly dispatcher: Dispatcher;
  readonly closing: boolean;
  readonly allow: AllowPolicy | undefined;
  /** Whether `dispatcher` is the proxy's own Agent (whose connect timeout is the default). */
  readonly ownsDispatcher: boolean;
  /** The proxy's cache, when it has one: its dispatcher is `dispatcher` composed with the cache. */
  readonly cache: HttpCache | undefined;
  /** The dispatcher for targets checked by `policy` (a predicate's may never resolve to private addresses). */
  dispatcherFor(policy: AllowPolicy | undefined): Dispatcher;
  settled(transfer: Transfer): void;
}

/** Returned by `proxy.fetch()`: the transfer is under way; `done` settles with its outcome. */
export interface ProxyHandle {
  /** Resolves (never rejects) once the response is finished, failed or abandoned. */
  readonly done: Promise<ProxyOutcome>;
  /** Set once `done` has settled. */
  readonly outcome: ProxyOutcome | undefined;
  /** Aborts the transfer at whatever stage it is (503 before headers, a cut connection after). */
  abort(reason?: string): void;
}

type Stage = 'queued' | 'upstream' | 'body' | 'ending' | 'failed' | 'settled';
type Headers = Record<string, string | string[]>;

/** Not a real target: the URL of a transfer whose instruction could not be read. */
const NO_TARGET = new URL('about:blank');

const NO_BODY_STATUS = new Set([204, 304]);

/**
 * One proxied request, from the gate to the last byte: admission, the upstream
 * attempt (retried once after a stale-connection reset, or followed through
 * redirects when asked), the response head, the body with backpressure end to
 * end, and a single cleanup that releases everything exactly once.
 */
export class Transfer implements Waiter, AttemptOwner, FileOwner, BodyOwner, ProxyHandle, Linked<Transfer> {
  readonly done: Promise<ProxyOutcome>;
  outcome: ProxyOutcome | undefined;
  attempt: Attempt | undefined;
  /** Links in the proxy's list of unsettled transfers (transfer-list.ts). */
  listPrev: Transfer | undefined = undefined;
  listNext: Transfer | undefined = undefined;

  private stage: Stage = 'queued';
  private holdsSlot = false;
  private headSent = false;
  /** The upstream response ended while an async onHeaders still ran (see upstreamComplete). */
  private upstreamEnded = false;
  private clientGone = false;
  private status = 0;
  private bytes = 0;
  private attempts = 0;
  private hops = 0;
  private error: ProxyError | undefined;
  private readonly started = performance.now();
  private readonly sink: Sink;
  private redirectedFrom: string | undefined;
  private url: URL;
  private method: string;
  private body: UpstreamBody | undefined;
  private headers: Record<string, string | string[]> | undefined;
  private pendingHead: { status: number; headers: Record<string, string | string[]>; length: number | null; hasBody: boolean } | undefined;
  private resumeUpstream: (() => void) | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private throttle: Throttle | undefined;
  private resolveDone!: (outcome: ProxyOutcome) => void;
  private drainListener: (() => void) | undefined;
  private resumeThrottle: (() => void) | undefined;
  private onSignal: (() => void) | undefined;
  private trace: CacheTrace | undefined;
  private conditional: ClientConditional | undefined;
  private dispatcher: Dispatcher;
  /** The call's request target, sent as is to the first upstream (not to a redirect's or an offload's). */
  private rawPath: string | undefined;
  private rateLimit: number;
  private followRedirects: number;
  private headersMs: number | undefined;
  // Offload state: the rules, the instruction performed (one per transfer), and what
  // it left running — the backend body being drained or forwarded, or a file.
  private readonly rules: ResolvedOffloadRules | undefined;
  private offloaded: OffloadKind | undefined;
  private instructionMs: number | undefined;
  private pendingOffload: OffloadStart | ProxyError | undefined;
  private kept: Headers | undefined;
  private targetAllow: AllowPolicy | undefined;
  private backendBody: DrainedBody | ForwardedBody | undefined;
  private file: FileSource | undefined;

  constructor(
    private readonly host: TransferHost,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    url: URL,
    private readonly call: ResolvedCall,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.url = url;
    this.method = call.method;
    this.sink = call.mode === 'socket' ? new SocketSink(req) : new ResponseSink(res);
    this.dispatcher = host.dispatcher;
    this.rawPath = call.path;
    this.rateLimit = call.rateLimit;
    this.followRedirects = call.followRedirects;
    this.rules = call.offload;
  }

  /**
   * A transfer that starts from an instruction rather than an upstream request
   * (`proxy.offload()`): it waits for a slot like any other, then performs it.
   */
  static fromOffload(
    host: TransferHost,
    req: IncomingMessage,
    res: ServerResponse,
    start: OffloadStart | ProxyError,
    call: ResolvedCall,
  ): Transfer {
    const url = start instanceof ProxyError ? NO_TARGET : targetUrl(start.instruction);
    const transfer = new Transfer(host, req, res, url, call);
    transfer.pendingOffload = start;
    if (!(start instanceof ProxyError) && start.instruction.kind === 'url') transfer.method = start.instruction.method;
    return transfer;
  }

  /** `GET http://host/path` for messages, built only when one is needed. */
  describe(): string {
    return this.target;
  }

  private get target(): string {
    const target =
      this.rawPath === undefined ? describeTarget(this.method, this.url) : `${this.method} ${this.url.origin}${this.rawPath}`;
    return this.redirectedFrom ? `${target} (redirected from ${this.redirectedFrom})` : target;
  }

  /** Starts the transfer; the proxy owns the response from here on. */
  begin(): void {
    this.res.once('close', this.onClientClose);
    this.res.on('error', this.onClientClose);
    const signal = this.call.signal;
    if (signal) {
      this.onSignal = () => this.abort('aborted by its signal');
      if (signal.aborted) return this.onSignal();
      signal.addEventListener('abort', this.onSignal, { once: true });
    }
    if (this.pendingOffload instanceof ProxyError) return this.fail(this.pendingOffload);
    if (this.pendingOffload) this.instructionMs = performance.now() - this.started;
    if (this.host.closing) {
      return this.fail(new ProxyError('HANDOFF_CLOSED', `Proxy is shutting down: ${this.target}`));
    }
    if (declaredTooLarge(this.req, this.call)) return this.requestBodyTooLarge();
    if (this.host.gate.enter(this)) this.admit();
  }

  abort(reason = 'aborted by the caller'): void {
    this.fail(new ProxyError('HANDOFF_ABORTED', `Transfer ${reason}: ${this.target}`));
  }

  /** Aborts at shutdown once the deadline has passed. */
  shutdown(): void {
    this.fail(new ProxyError('HANDOFF_SHUTDOWN', `Proxy shut down before the transfer finished: ${this.target}`));
  }

  // Waiter

  admit(): void {
    this.holdsSlot = true;
    if (this.stage !== 'queued') return this.releaseSlot();
    this.stage = 'upstream';
    try {
      const offload = this.pendingOffload;
      if (offload && !(offload instanceof ProxyError)) {
        this.pendingOffload = undefined;
        return this.perform(offload);
      }
      this.headers = buildRequestHeaders(this.req, this.call, this.host.options);
      this.body = requestBody(this.req, this.call, this);
      this.dispatch();
    } catch (err) {
      this.fail(toProxyError(err, this.target, false));
    }
  }

  reject(err: ProxyError): void {
    this.fail(err);
  }

  // Upstream attempt callbacks

  upstreamConnected(): void {
    clearTimeout(this.connectTimer);
  }

  upstreamHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.stage !== 'upstream') return false;
    // Interim responses (103 Early Hints and the like) are not relayed.
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    const upstream = parseUpstreamHead(rawHeaders);
    if (upstream.problem) {
      this.fail(new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream sent ${upstream.problem}: ${this.target}`));
      return false;
    }
    if (this.rules) {
      if (!this.offloaded) {
        let instruction: Instruction | null;
        let rate: number | undefined;
        try {
          instruction = readInstruction(upstream.headers, this.rules, 'Upstream');
          rate = readLimitRate(upstream.headers, 'Upstream');
        } catch (err) {
          this.fail(instructionError(err, this.target));
          return false;
        }
        if (rate !== undefined) this.rateLimit = rate;
        if (instruction) return this.offloadUpstream(instruction, upstream.headers, upstream.contentLength, rate, resume);
      }
      // One level only: a target's own instructions are removed, never followed.
      stripOffloadHeaders(upstream.headers);
    }
    if (this.hops < this.followRedirects && isRedirect(statusCode) && this.follow(statusCode, upstream.headers.location)) {
      return false;
    }
    const status = this.trace ? markCached(this.host.cache!, this.trace, this.conditional, statusCode, upstream.headers) : statusCode;
    return this.relayHead(status, upstream.headers, upstream.contentLength, statusCode);
  }

  /**
   * The head of the response the client gets (an upstream's, an offload target's, or a
   * file's): kept headers, preset headers and `onHeaders`, then validation and writing.
   * Returns whether the body may come now (false also while an async hook runs).
   * `upstreamStatus` is what the body's source answered, when the cache turned it into a 304.
   */
  private relayHead(statusCode: number, headers: Headers, contentLength: number | null, upstreamStatus = statusCode): boolean {
    this.headersMs = performance.now() - this.started;
    if (this.offloaded) applyKeptHeaders(headers, this.kept);
    if (this.method === 'HEAD' && this.req.method !== 'HEAD' && !NO_BODY_STATUS.has(statusCode)) {
      // A HEAD sent on behalf of a GET (or any other method): its length describes a body
      // nobody sends. The client is owed a body, and gets an empty one, framed as such.
      headers['content-length'] = '0';
      contentLength = 0;
    }
    const head: ResponseHead = { status: statusCode, headers };
    mergePresetHeaders(this.res, head.headers);

    const hook = this.call.onHeaders;
    if (!hook) return this.sendHead(head, contentLength, upstreamStatus);
    let result: ReturnType<typeof hook>;
    try {
      result = hook(head);
    } catch (err) {
      this.failHook(err);
      return false;
    }
    if (isPromise(result)) {
      result.then(
        (replacement) => {
          if (!this.sendHead(replacement ?? head, contentLength, upstreamStatus)) return;
          if (this.upstreamEnded) this.upstreamComplete();
          else this.resumeUpstream?.();
        },
        (err) => this.failHook(err),
      );
      return false;
    }
    return this.sendHead(result ?? head, contentLength, upstreamStatus);
  }

  upstreamData(chunk: Buffer): boolean {
    if (this.stage !== 'body') return false;
    // undici's parser hands over an empty chunk each time it resumes after a pause (llhttp
    // closes the body span it was in): written, it costs a write to the client and, through
    // ServerResponse, a write(2) of 0 bytes, once per chunk when the client sets the pace.
    if (chunk.length === 0) return true;
    this.idleTimer?.refresh();
    if (this.pendingHead) this.writeHead();
    if (this.throttle) {
      if (this.throttle.write(chunk)) return true;
      if (!this.drainListener) this.throttle.on('drain', this.listenForDrain());
      return false;
    }
    this.bytes += chunk.length;
    if (this.sink.write(chunk)) return true;
    if (!this.drainListener) this.sink.onDrain(this.listenForDrain());
    return false;
  }

  upstreamComplete(): void {
    // Trailers are dropped: the client response is framed by the proxy, and relaying
    // them safely needs TE: trailers negotiation (RELIABILITY A8).
    if (this.stage === 'upstream') {
      // undici ends a HEAD response without waiting for resume(), so this can come while
      // an async onHeaders still runs: the transfer ends once the head is sent.
      this.upstreamEnded = true;
      return;
    }
    if (this.stage !== 'body') return;
    this.stage = 'ending';
    clearTimeout(this.idleTimer);
    if (this.pendingHead) this.writeHead();
    if (this.throttle) {
      this.throttle.once('end', () => this.sink.end(this.onFinished));
      this.throttle.end();
    } else {
      this.sink.end(this.onFinished);
    }
  }

  upstreamError(err: Error): void {
    if (this.stage === 'upstream' && retryable(err, this.attempts, this.method, this.headers, this.body)) return this.dispatch();
    // After upstreamComplete the only errors left are those of our own abort.
    if (this.stage === 'failed' || this.stage === 'settled' || this.stage === 'ending') return;
    this.fail(toProxyError(err, this.target, this.headSent));
  }

  // Offload

  /**
   * The upstream's head carried an instruction: the rest of its body is handed to a
   * drain (or, with Offload-Forward-Body, becomes the target's request body), and the
   * instruction is performed in this same transfer, holding the same slot.
   */
  private offloadUpstream(
    instruction: Instruction,
    headers: Headers,
    contentLength: number | null,
    rate: number | undefined,
    resume: () => void,
  ): boolean {
    const backend = this.attempt!;
    this.attempt = undefined;
    this.instructionMs = performance.now() - this.started;
    const bodyHeaders: Headers = {};
    let body: Readable | undefined;
    if (instruction.kind === 'url' && instruction.forwardBody) {
      const forwarded = new ForwardedBody(backend, resume, {
        idleTimeout: this.call.bodyTimeout,
        onIdle: () =>
          this.fail(
            new ProxyError('HANDOFF_BODY_TIMEOUT', `Upstream body being forwarded stalled for ${this.call.bodyTimeout} ms: ${this.target}`),
          ),
        onError: (err) => this.fail(toProxyError(err, `forwarding the upstream body of ${this.target}`, true)),
      });
      this.backendBody = forwarded;
      body = forwarded.stream;
      if (headers['content-type'] !== undefined) bodyHeaders['content-type'] = headers['content-type'];
      if (contentLength !== null) bodyHeaders['content-length'] = String(contentLength);
    } else {
      this.backendBody = new DrainedBody(backend);
    }
    backend.handOver(this.backendBody);
    this.perform({ instruction, kept: this.rules && keptHeaders(headers, this.rules), rate, body, bodyHeaders });
    return true;
  }

  /** Sends the target request of an Offload-Url or X-Accel-Redirect, or starts serving an X-Sendfile. */
  private perform(offload: OffloadStart): void {
    const { instruction } = offload;
    this.offloaded = instruction.kind;
    this.kept = offload.kept;
    if (offload.rate !== undefined) this.rateLimit = offload.rate;
    this.followRedirects = this.rules!.followRedirects;
    this.hops = 0;
    this.attempts = 0;
    this.redirectedFrom = undefined;
    this.rawPath = undefined;
    this.url = targetUrl(instruction);
    this.method = targetMethod(instruction, this.req.method);
    try {
      if (instruction.kind === 'sendfile') {
        const file = new FileSource(this, this.req, instruction.path, instruction.root);
        this.file = file;
        this.resumeUpstream = () => file.resume();
        return file.start();
      }
      this.body = targetBody(offload);
      this.headers = targetHeaders(instruction, offload, this.req, this.host.options);
      if (instruction.kind === 'url') {
        this.targetAllow = this.rules!.allow;
        this.dispatcher = this.host.dispatcherFor(this.targetAllow);
      }
      this.host.allow?.check(this.url, this.target);
      this.dispatch();
    } catch (err) {
      this.fail(toProxyError(err, this.target, false));
    }
  }

  // FileOwner: an X-Sendfile file takes the same path as an upstream response.

  fileHead(status: number, headers: Headers, length: number | null): boolean {
    if (this.stage !== 'upstream') return false;
    return this.relayHead(status, headers, length);
  }

  fileData(chunk: Buffer): boolean {
    return this.upstreamData(chunk);
  }

  fileComplete(): void {
    this.upstreamComplete();
  }

  fileFailed(err: ProxyError): void {
    this.fail(err);
  }

  // Internals

  /** Sends the current request as a new attempt, superseding any earlier one. */
  private dispatch(): void {
    const { url, call } = this;
    this.attempts++;
    this.attempt = new Attempt(this);
    clearTimeout(this.connectTimer);
    // The proxy's own Agent enforces the default connect timeout itself; a timer is
    // needed only for a shorter per-call value or a dispatcher the caller owns.
    if (call.connectTimeout > 0 && (!this.host.ownsDispatcher || call.connectTimeout < this.host.options.connectTimeout)) {
      this.connectTimer = setTimeout(connectTimedOut, call.connectTimeout, this);
    }
    // Transfers that perform offload instructions bypass the cache (see the README's Caching limits).
    const cache = call.cache && !this.rules ? this.host.cache : undefined;
    this.trace = traceFor(cache, this.method);
    // The client's own validators stay off the upstream request: the cache answers them.
    if (this.trace && this.headers) this.conditional ??= takeConditional(this.headers);
    (cache?.dispatcher ?? this.dispatcher).dispatch(
      {
        origin: url.origin,
        path: this.rawPath ?? url.pathname + url.search,
        method: this.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body: (this.body as Dispatcher.DispatchOptions['body']) ?? null,
        headersTimeout: call.headersTimeout,
        // The body idle timer below covers both directions; undici's stops while paused.
        bodyTimeout: 0,
        ...(this.trace && { [kTrace]: this.trace }),
      },
      this.attempt,
    );
  }

  /** Follows a redirect: returns false when it cannot be followed and is relayed as is. */
  private follow(status: number, location: string | string[] | undefined): boolean {
    if (typeof location !== 'string') return false;
    const base = this.rawPath === undefined ? this.url : new URL(this.rawPath, this.url.origin);
    const hop = nextHop(status, location, base, this.method);
    if (typeof hop === 'string') {
      this.fail(new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream redirected to ${hop}: ${this.target}`));
      return true;
    }
    if (hop.keepBody && !replayable(this.body)) return false;
    const to = describeTarget(hop.method, hop.url);
    try {
      this.host.allow?.check(hop.url, to);
      this.targetAllow?.check(hop.url, to);
    } catch (cause) {
      this.fail(new ProxyError('HANDOFF_REDIRECT_FORBIDDEN', `Upstream redirected to a forbidden target ${to}: ${this.target}`, { cause }));
      return true;
    }
    const previous = this.attempt!;
    const previousTarget = this.target;
    this.headers = hopHeaders(this.headers!, this.url, hop.url, hop.keepBody);
    if (!hop.keepBody) this.body = undefined;
    this.hops++;
    this.attempts = 0;
    this.rawPath = undefined;
    this.url = hop.url;
    this.method = hop.method;
    this.redirectedFrom = previousTarget;
    this.dispatch();
    // Drops the redirect's own body: its connection is destroyed, never pooled half-read.
    previous.abort(new Error('redirect followed'));
    return true;
  }

  /** Validates and writes the response head; returns whether the upstream may keep sending. */
  private sendHead(head: ResponseHead, upstreamLength: number | null, upstreamStatus: number): boolean {
    if (this.stage !== 'upstream') return false;
    const problem = checkResponseHead(head, upstreamLength);
    if (problem) {
      const source = this.call.onHeaders ? 'onHeaders produced' : 'Upstream sent';
      this.fail(new ProxyError('HANDOFF_INVALID_HEADER', `${source} an invalid response head (${problem}): ${this.target}`));
      return false;
    }
    // Whether the client's response has a body (RFC 9112 §6.3), possibly empty when the
    // upstream request was a HEAD: it must then still be framed, never left to the length.
    const hasBody = this.req.method !== 'HEAD' && !NO_BODY_STATUS.has(head.status);
    // RFC 9110 §8.6: no content-length on a 204 (an onHeaders may have turned a 200 into one).
    if (head.status === 204) delete head.headers['content-length'];
    const length = head.headers['content-length'] === undefined ? null : upstreamLength;
    // The head is written with the first body bytes, at the end, or one loop turn later,
    // whichever comes first: an upstream error parsed in the same read (a bad first
    // chunk) still gets a clean 502 instead of a cut connection. undici reports such an
    // error when the socket's close callback runs, at the end of this loop turn.
    this.pendingHead = { status: head.status, headers: head.headers, length, hasBody };
    setImmediate(deferHead, this);
    this.status = head.status;
    this.stage = 'body';

    const upstreamHasBody = this.method !== 'HEAD' && !NO_BODY_STATUS.has(upstreamStatus);
    if (!hasBody && upstreamHasBody) {
      // A bodiless answer (HEAD client, or onHeaders chose 204/304): finish now and drop the
      // upstream body (its connection is destroyed rather than pooled half-read).
      this.upstreamComplete();
      this.attempt?.abort(new ProxyError('HANDOFF_ABORTED', `Upstream body not needed: ${this.target}`));
      this.file?.abort();
      return false;
    }
    if (this.rateLimit > 0 && hasBody && upstreamHasBody) this.throttle = this.createThrottle();
    return true;
  }

  private writeHead(): void {
    const { status, headers, length, hasBody } = this.pendingHead!;
    this.pendingHead = undefined;
    this.sink.head(status, headers, length, hasBody);
    this.headSent = true;
  }

  /**
   * Runs one loop turn after the upstream head: writes the head if no body byte has,
   * and starts the body idle timer for a body still flowing (a response that ended
   * within that turn never needs one).
   */
  flushHead(): void {
    if (this.stage !== 'body' && this.stage !== 'ending') return;
    if (this.pendingHead) this.writeHead();
    if (this.stage === 'body' && this.call.bodyTimeout > 0) this.idleTimer = setTimeout(idleTimedOut, this.call.bodyTimeout, this);
  }

  private createThrottle(): Throttle {
    const throttle = createThrottle(this.rateLimit);
    throttle.on('data', (chunk: Buffer) => {
      this.idleTimer?.refresh();
      this.bytes += chunk.length;
      if (!this.sink.write(chunk)) {
        throttle.pause();
        if (!this.resumeThrottle) {
          this.resumeThrottle = () => {
            this.idleTimer?.refresh();
            throttle.resume();
          };
          this.sink.onDrain(this.resumeThrottle);
        }
      }
    });
    throttle.on('error', (err) => this.fail(toProxyError(err, this.target, true)));
    return throttle;
  }

  private failHook(err: unknown): void {
    this.fail(new ProxyError('HANDOFF_HOOK_FAILED', `onHeaders failed: ${this.target}`, { cause: err }));
  }

  /**
   * Ends the transfer with an error, once: the upstream is aborted (its socket
   * destroyed, never pooled half-read), timers stop, the slot is released, and the
   * client gets an error response if nothing was sent yet, or a cut connection.
   */
  private fail(error: ProxyError): void {
    if (this.stage === 'failed' || this.stage === 'settled') return;
    const queued = this.stage === 'queued';
    this.stage = 'failed';
    this.error = error;
    this.stopTimers();
    if (queued) this.host.gate.leave(this);
    this.attempt?.abort(error);
    this.file?.abort();
    this.releaseSlot();
    this.pendingHead = undefined;
    if (!this.headSent) this.status = 0;

    if (this.clientGone) return this.settle();
    if (this.headSent) {
      this.sink.abort();
      return this.settle();
    }
    void this.answer(error);
  }

  private async answer(error: ProxyError): Promise<void> {
    const fallback = defaultErrorResponse(error, this.host.options.retryAfter);
    // Without onError nothing is awaited: the answer is written in this same turn.
    const response = this.call.onError ? await onErrorResponse(error, this.call.onError, fallback) : fallback;
    if (this.clientGone || this.stage === 'settled') return this.settle();
    const headers = errorResponseHeaders(response, this.req, this.res, this.call.mode);
    const hasBody = this.req.method !== 'HEAD';
    this.sink.head(response.head.status, headers, response.body.length, hasBody);
    this.headSent = true;
    this.status = response.head.status;
    if (hasBody) this.sink.write(response.body);
    this.sink.end(() => this.settle());
  }

  private settle(): void {
    if (this.stage === 'settled') return;
    this.stage = 'settled';
    this.stopTimers();
    this.res.off('close', this.onClientClose);
    this.res.off('error', this.onClientClose);
    if (this.drainListener && !this.throttle) this.sink.offDrain(this.drainListener);
    if (this.resumeThrottle) this.sink.offDrain(this.resumeThrottle);
    if (this.onSignal) this.call.signal!.removeEventListener('abort', this.onSignal);
    this.backendBody?.abort(new Error('transfer settled'));
    const outcome: ProxyOutcome = {
      status: this.status,
      bytes: this.bytes,
      durationMs: performance.now() - this.started,
    };
    if (this.error) outcome.error = this.error;
    if (this.headersMs !== undefined) outcome.headersMs = this.headersMs;
    if (this.offloaded) {
      outcome.offload = this.offloaded;
      outcome.instructionMs = this.instructionMs;
    }
    this.outcome = outcome;
    this.host.settled(this);
    try {
      this.call.onComplete?.(outcome);
    } finally {
      this.resolveDone(outcome);
    }
  }

  private releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.host.gate.release();
  }

  private stopTimers(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.idleTimer);
    if (this.throttle) {
      this.throttle.removeAllListeners('data');
      this.throttle.destroy();
    }
  }

  private readonly onFinished = (): void => {
    if (this.stage !== 'ending') return;
    this.releaseSlot();
    this.settle();
  };

  /**
   * Made on the first backpressure pause (most small responses never pause) and kept
   * until the transfer settles: one listener per transfer rather than one per chunk.
   */
  private listenForDrain(): () => void {
    this.drainListener = () => {
      if (this.stage !== 'body') return;
      this.idleTimer?.refresh();
      this.resumeUpstream?.();
    };
    return this.drainListener;
  }

  private readonly onClientClose = (): void => {
    if (this.stage === 'settled') return;
    this.clientGone = true;
    if (this.stage === 'failed') return this.settle();
    this.fail(new ProxyError('HANDOFF_CLIENT_ABORTED', `Client went away before the response was complete: ${this.target}`));
  };

  connectTimedOut(): void {
    if (this.attempt?.connected) return;
    this.fail(
      new ProxyError('HANDOFF_CONNECT_TIMEOUT', `No upstream connection within ${this.call.connectTimeout} ms: ${this.target}`),
    );
  }

  idleTimedOut(): void {
    this.fail(new ProxyError('HANDOFF_BODY_TIMEOUT', `No body progress for ${this.call.bodyTimeout} ms: ${this.target}`));
  }

  // BodyOwner

  requestBodyStalled(): void {
    this.fail(
      new ProxyError('HANDOFF_REQUEST_TIMEOUT', `Client sent no request body bytes for ${this.call.bodyTimeout} ms: ${this.target}`),
    );
  }

  requestBodyTooLarge(): void {
    this.fail(
      new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Request body exceeds maxBodySize (${this.call.maxBodySize} bytes): ${this.target}`),
    );
  }
}

// Timer and immediate callbacks take the transfer as an argument, so no closure is made per request.
function connectTimedOut(transfer: Transfer): void {
  transfer.connectTimedOut();
}

function idleTimedOut(transfer: Transfer): void {
  transfer.idleTimedOut();
}

function flushHead(transfer: Transfer): void {
  transfer.flushHead();
}

function deferHead(transfer: Transfer): void {
  setImmediate(flushHead, transfer);
}

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}
