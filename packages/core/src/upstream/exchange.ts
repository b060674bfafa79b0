import type { Dispatcher } from 'undici';
import type { ClientConditional } from '../cache/conditional';
import type { HttpCache } from '../cache/http-cache';
import type { BodyDrain } from '../cache/body-drain';
import { kTrace, type CacheTrace } from '../cache/trace';
import { markCached, traceFor } from '../cache/transfer-hooks';
import { ProxyError, describeTarget, toProxyError } from '../errors';
import { parseUpstreamHead, type ParsedHeaders } from '../headers/response-headers';
import { earlyHintLinks } from '../http/early-hints';
import { isBodilessStatus } from '../http/fields';
import { readInstruction, readLimitRate, stripOffloadHeaders, type Instruction } from '../offload/instruction';
import type { ResolvedOffloadRules } from '../offload/rules';
import { instructionError } from '../offload/target';
import type { Headers, ResponseSource, SourceListener } from '../relay/source';
import type { AllowPolicy } from './allow';
import { Attempt, type AttemptOwner } from './attempt';
import { kInterim, type InterimOptions } from './interim';
import { isRedirect, nextHop } from './redirect';
import { describeRequest, redirected, requestUrl, type UpstreamRequest } from './request';
import { replayable } from './request-body';
import { retryable } from './retry';

/** How one exchange runs: fixed for its lifetime, shared by its attempts and hops. */
export interface ExchangeSettings {
  headersTimeout: number;
  /** ms for the exchange's own connect timer; 0 when the dispatcher enforces the timeout itself. */
  connectTimeout: number;
  followRedirects: number;
  /** Policies every redirect hop is checked against (the proxy's `allow`, an offload target's). */
  allow: readonly AllowPolicy[];
  /** Read offload instructions in the head (a backend's response; a target's are never followed). */
  instructions: ResolvedOffloadRules | undefined;
  /** Remove instruction headers from the head relayed (whenever offload rules are in play). */
  stripInstructions: boolean;
  /** The cache answering this exchange, when it has one. */
  cache: HttpCache | undefined;
  /** The client's own validators, taken off the request for the cache to answer (cache/conditional.ts). */
  conditional: ClientConditional | undefined;
  /** ms without body progress while a body nobody relays is read into the cache (cache/body-drain.ts); 0 disables. */
  bodyTimeout?: number;
}

/** A listener of an upstream exchange: also told when a head carries an offload instruction. */
export interface ExchangeListener extends SourceListener {
  /**
   * The head asked for an offload instead of being relayed. The listener takes the rest of
   * this response's body with `handOver()` (to drain or forward it).
   */
  onInstruction(exchange: UpstreamExchange, instruction: Instruction, headers: Headers, length: number | null, rate: number | undefined): void;
  /** A `103 Early Hints` came before the final head: its valid `Link` values, at least one. */
  onEarlyHints?(exchange: UpstreamExchange, links: string[]): void;
}

/**
 * The upstream side of a transfer, as a response source: one request value, sent as
 * attempts. Before any head arrives, a stale-connection reset is retried once (a new
 * attempt); once a head has arrived, nothing is ever sent again. A redirect the settings
 * allow following becomes a new request value and a new attempt, unseen by the listener.
 */
export class UpstreamExchange implements ResponseSource, AttemptOwner {
  #listener: ExchangeListener;
  #request: UpstreamRequest;
  readonly #settings: ExchangeSettings;
  /** 'draining': the listener is done with this response, its body is read on into the cache. */
  #phase: 'sending' | 'responding' | 'draining' | 'done' = 'sending';
  #attempt: Attempt | undefined;
  #attempts = 0;
  #connectTimer: NodeJS.Timeout | undefined;
  #trace: CacheTrace | undefined;
  #length: number | null = null;
  #drain: BodyDrain | undefined;
  /** The current attempt got a 1xx: the upstream read the request, a reset now is no stale connection. */
  #interim = false;

  constructor(listener: ExchangeListener, request: UpstreamRequest, settings: ExchangeSettings) {
    this.#listener = listener;
    this.#settings = settings;
    this.#request = request;
  }

  describe(): string {
    return describeRequest(this.#request);
  }

  start(): void {
    this.#dispatch();
  }

  pause(): void {
    this.#attempt?.pause();
  }

  resume(): void {
    this.#attempt?.resume();
  }

  abort(reason: Error): void {
    if (this.#phase === 'done') return;
    this.#drain?.done();
    this.#phase = 'done';
    clearTimeout(this.#connectTimer);
    this.#attempt?.abort(reason);
  }

  /**
   * The listener answered without a body: the body is read on (and no longer relayed)
   * while the cache is storing it, so the entry is stored whole; otherwise it is dropped.
   */
  discardBody(reason: Error): void {
    const cache = this.#settings.cache;
    const { url, method, rawPath } = this.#request;
    const key = { origin: url.origin, method, path: rawPath ?? url.pathname + url.search };
    const stop = (why: string) => this.abort(new ProxyError('HANDOFF_ABORTED', `Upstream body not stored (${why}): ${this.describe()}`));
    const drain = this.#phase === 'responding' ? cache?.drainFor(key, this.#length, this.#settings.bodyTimeout ?? 0, stop) : undefined;
    if (!drain) return this.abort(reason);
    this.#phase = 'draining';
    this.#drain = drain;
    this.#attempt?.resume();
  }

  /** The rest of this response goes to `listener` (after `onInstruction`). */
  handOver(listener: ExchangeListener): void {
    this.#listener = listener;
  }

  // AttemptOwner

  isCurrent(attempt: Attempt): boolean {
    return attempt === this.#attempt;
  }

  attemptConnected(): void {
    clearTimeout(this.#connectTimer);
  }

  attemptInterim(status: number, parsed: ParsedHeaders): void {
    // Only 103's Link values go on (RFC 8297): its other fields, a 100 nobody asked for
    // (handoff never sends Expect), 102 and unknown 1xx are dropped.
    this.#interim = true;
    if (status !== 103 || this.#phase !== 'sending') return;
    const links = earlyHintLinks(parsed.link);
    if (links.length > 0) this.#listener.onEarlyHints?.(this, links);
  }

  attemptHead(status: number, parsed: ParsedHeaders): void {
    // 1xx responses come through attemptInterim (upstream/interim.ts): never here.
    if (status < 200 || this.#phase !== 'sending') return;
    clearTimeout(this.#connectTimer);
    const upstream = parseUpstreamHead(parsed);
    if (upstream.problem) return this.#fail(new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream sent ${upstream.problem}: ${this.describe()}`));
    const { headers, contentLength } = upstream;
    const settings = this.#settings;
    let rate: number | undefined;
    if (settings.instructions) {
      let instruction: Instruction | null;
      try {
        instruction = readInstruction(headers, settings.instructions, 'Upstream');
        rate = readLimitRate(headers, 'Upstream');
      } catch (err) {
        return this.#fail(instructionError(err, this.describe()));
      }
      if (instruction) {
        this.#phase = 'responding';
        return this.#listener.onInstruction(this, instruction, headers, contentLength, rate);
      }
    }
    // One level only: a target's own instructions are removed, never followed.
    if (settings.stripInstructions) stripOffloadHeaders(headers);
    if (this.#request.hops < settings.followRedirects && isRedirect(status) && this.#follow(status, headers.location)) return;
    const method = this.#request.method;
    const trace = this.#trace;
    this.#phase = 'responding';
    this.#length = contentLength;
    this.#listener.onResponseStart(this, {
      status: trace ? markCached(settings.cache!, trace, settings.conditional, status, headers) : status,
      headers,
      length: contentLength,
      hasBody: method !== 'HEAD' && !isBodilessStatus(status),
      headOnly: method === 'HEAD',
      rateLimit: rate,
    });
  }

  attemptData(chunk: Buffer): void {
    // undici's parser hands over an empty chunk each time it resumes after a pause (llhttp
    // closes the body span it was in): relayed, it costs a write to the client and, through
    // ServerResponse, a write(2) of 0 bytes, once per chunk when the client sets the pace.
    if (this.#phase === 'draining') return this.#drain!.take(chunk.length);
    if (this.#phase !== 'responding' || chunk.length === 0) return;
    this.#listener.onResponseData(this, chunk);
  }

  attemptEnd(): void {
    if (this.#phase === 'draining') return this.#drained();
    if (this.#phase === 'responding') this.#end();
  }

  attemptError(err: Error): void {
    if (this.#phase === 'draining') return this.#drained();
    if (this.#phase === 'done') return;
    if (this.#phase === 'sending' && !this.#interim && retryable(err, this.#attempts, this.#request)) return this.#dispatch();
    this.#fail(toProxyError(err, this.describe(), this.#phase === 'responding'));
  }

  connectTimedOut(): void {
    if (this.#attempt?.connected || this.#phase !== 'sending') return;
    const ms = this.#settings.connectTimeout;
    this.#fail(new ProxyError('HANDOFF_CONNECT_TIMEOUT', `No upstream connection within ${ms} ms: ${this.describe()}`));
  }

  // Internals

  /** Sends the current request as a new attempt, superseding any earlier one. */
  #dispatch(): void {
    const request = this.#request;
    const settings = this.#settings;
    const attempt = new Attempt(this);
    this.#attempt = attempt;
    this.#attempts++;
    this.#interim = false;
    clearTimeout(this.#connectTimer);
    if (settings.connectTimeout > 0) this.#connectTimer = setTimeout(connectTimedOut, settings.connectTimeout, this);
    const trace = traceFor(settings.cache, request.method);
    this.#trace = trace;
    const options: InterimOptions & { [kTrace]?: CacheTrace } = {
      origin: request.url.origin,
      path: request.rawPath ?? request.url.pathname + request.url.search,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: (request.body as Dispatcher.DispatchOptions['body']) ?? null,
      headersTimeout: settings.headersTimeout,
      // The transfer's body idle timer covers both directions; undici's stops while paused.
      bodyTimeout: 0,
      [kInterim]: attempt,
    };
    if (trace) options[kTrace] = trace;
    try {
      request.dispatcher.dispatch(options, attempt);
    } catch (err) {
      this.attemptError(err as Error);
    }
  }

  /** Follows a redirect: false when it cannot be followed and is relayed as it is. */
  #follow(status: number, location: string | string[] | undefined): boolean {
    if (typeof location !== 'string') return false;
    const request = this.#request;
    const hop = nextHop(status, location, requestUrl(request), request.method);
    if (typeof hop === 'string') {
      this.#fail(new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream redirected to ${hop}: ${this.describe()}`));
      return true;
    }
    if (hop.keepBody && !replayable(request.body)) return false;
    const to = describeTarget(hop.method, hop.url);
    try {
      for (const policy of this.#settings.allow) policy.check(hop.url, to);
    } catch (cause) {
      this.#fail(new ProxyError('HANDOFF_REDIRECT_FORBIDDEN', `Upstream redirected to a forbidden target ${to}: ${this.describe()}`, { cause }));
      return true;
    }
    const previous = this.#attempt!;
    this.#request = redirected(request, hop);
    this.#attempts = 0;
    this.#dispatch();
    // Drops the redirect's own body: its connection is destroyed, never pooled half-read.
    previous.abort(new Error('redirect followed'));
    return true;
  }

  /** The drained body ended (stored by the cache) or failed (discarded by it): the listener was done long ago. */
  #drained(): void {
    this.#phase = 'done';
    this.#drain?.done();
  }

  #end(): void {
    this.#phase = 'done';
    this.#listener.onResponseEnd(this);
  }

  #fail(err: ProxyError): void {
    this.#phase = 'done';
    clearTimeout(this.#connectTimer);
    this.#attempt?.abort(err);
    this.#listener.onResponseError(this, err);
  }
}

// A timer callback taking the exchange as its argument: no closure per request.
function connectTimedOut(exchange: UpstreamExchange): void {
  exchange.connectTimedOut();
}
