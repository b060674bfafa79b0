/**
 * The public option and result types. Type-only: the values that carry them
 * (validation, defaults) live in options/.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { CacheOptions } from './cache/options';
import type { SharedGateOptions } from './gate/options';
import type { ProxyError } from './errors';
import type { OffloadKind, OffloadRules } from './offload/rules';
import type { AllowOption } from './upstream/allow';

/** What `onHeaders` sees and may change: the response about to be sent, names lower-case. */
export interface ResponseHead {
  status: number;
  headers: Record<string, string | string[]>;
}

/** An answer `onError` may give instead of the default error response. */
export interface ErrorAnswer {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
}

/** The outcome of one transfer. `status` is what the client was sent (0 if nothing was). */
export interface ProxyOutcome {
  status: number;
  /** Response body bytes written towards the client. */
  bytes: number;
  durationMs: number;
  error?: ProxyError;
  /** Set when an offload instruction was performed: which kind. */
  offload?: OffloadKind;
  /** ms from the call until the head relayed to the client was available (an offload's target or file, not the instruction's). */
  headersMs?: number;
  /** Offloads only: ms from the call until the response carrying the instruction arrived. */
  instructionMs?: number;
  /** Set when the request was stored for later delivery (`proxy.later()`, or `overflow: 'queue'`): the job's id. */
  jobId?: string;
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

export type OnHeaders = (res: ResponseHead) => void | ResponseHead | Promise<void | ResponseHead>;
export type OnError = (err: ProxyError) => void | ErrorAnswer | Promise<void | ErrorAnswer>;
export type OnComplete = (info: ProxyOutcome) => void;

export type ProxyMode = 'response' | 'socket';
export type RequestBody = 'request' | string | Buffer | Uint8Array | Readable;

/**
 * Client request headers forwarded besides the default set: names (any case), `'all'`
 * (per call only: every field but hop-by-hop, proxy and instruction fields), or a
 * predicate over lower-case names.
 */
export type ForwardHeaders = readonly string[] | 'all' | ((name: string) => boolean);

/** Per-endpoint settings; each may also be given to `createProxy()`/`handoff()` as a default. */
export interface TransferSettings {
  /** ms to get a connection to the upstream; 0 disables. */
  connectTimeout?: number;
  /** ms from sending the request to the complete response head; 0 disables. */
  headersTimeout?: number;
  /** ms allowed without body progress (between chunks, either side); 0 disables. Not a total duration. */
  bodyTimeout?: number;
  /** Bytes per second for each response; 0 for no limit. */
  rateLimit?: number;
  /** 'response' writes through ServerResponse; 'socket' takes the connection over and closes it afterwards. */
  mode?: ProxyMode;
  /** Client request headers forwarded besides the default set. */
  forwardHeaders?: ForwardHeaders;
  /** Redirects to follow (each hop re-checked against `allow`, credentials dropped across origins); 0 relays them. */
  followRedirects?: number;
  /** Largest request body streamed with body: 'request', in bytes; beyond it the client gets 413. 0 for no limit. */
  maxBodySize?: number;
  /**
   * With body: 'request', bodies up to this many bytes are read whole before the transfer
   * waits for a slot (nginx's proxy_request_buffering), so a slow upload never holds one;
   * larger ones stream. 0 streams every body.
   */
  requestBuffer?: number;
  /** The slowest a client may send its body or read the response (Kestrel's minimum data rates); false for no minimum. */
  minDataRate?: MinDataRate | false;
}

/**
 * Minimum data rates, in bytes per second, enforced after `grace` ms: below `request` the
 * upload is refused with 408; below `response` (while the proxy waits for the client to
 * read) the response is cut. 0 disables one direction.
 */
export interface MinDataRate {
  request?: number;
  response?: number;
  grace?: number;
}

export interface ProxyOptions extends TransferSettings {
  /** Most upstream transfers in flight at once. */
  concurrency?: number;
  /** Most transfers waiting for a slot; beyond it the client gets 503. */
  maxQueue?: number;
  /** ms a transfer may wait for a slot before the client gets 503; 0 waits without limit. */
  queueTimeout?: number;
  /** Seconds sent in Retry-After with every 503 the proxy produces. */
  retryAfter?: number;
  /** Most bytes held at once by request bodies being read whole (requestBuffer); past it, bodies stream. */
  requestBufferTotal?: number;
  /** How X-Forwarded-For/-Proto/-Host are set: 'set' replaces the client's, 'append' extends a trusted chain, false sends none. */
  xForwarded?: 'set' | 'append' | false;
  /** An undici Dispatcher owned by the caller; otherwise the proxy creates an Agent and closes it on close(). */
  dispatcher?: Dispatcher;
  /** Upstreams that may be reached: bare origins, or a predicate. Anything else is refused before connecting. */
  allow?: AllowOption;
  /** RFC 9111 shared caching of GET/HEAD responses: true for the in-memory defaults, or cache options. */
  cache?: boolean | CacheOptions;
  /** A concurrency limit shared through Redis by every instance with the same key (docs/shared-gate.md); default: this process only. */
  gate?: SharedGateOptions;
  /** The durable queue behind `proxy.later()` and calls with `overflow: 'queue'` (`@handoff/queue` implements it). */
  queue?: RequestQueue;
}

export interface ProxyCallOptions extends TransferSettings {
  method?: string;
  /**
   * The request target sent upstream byte for byte (origin-form: `/path?query`), instead of
   * the URL's parsed and normalised path; the URL then only names the origin. For proxies
   * passing a client's `req.url` on unchanged. Visible ASCII only, starting with '/', no '#'.
   */
  path?: string;
  /** Request headers for the upstream; they override anything forwarded from the client. */
  headers?: Record<string, string | string[] | undefined>;
  /** 'request' streams the incoming request body (if it has one); otherwise the body to send. */
  body?: RequestBody;
  onHeaders?: OnHeaders;
  onError?: OnError;
  onComplete?: OnComplete;
  /** Aborting it aborts the transfer at whatever stage it is. */
  signal?: AbortSignal;
  /** false bypasses the proxy's cache for this call (no lookup, no store). */
  cache?: boolean;
  /**
   * Performs offload instructions (Offload-*, X-Accel-Redirect, X-Sendfile) found in the
   * upstream's response head instead of relaying it. Pass the same object every call.
   */
  offload?: OffloadRules;
  /**
   * 'queue': when the gate and its wait queue are full, store the request in the proxy's
   * `queue` for later delivery (202) instead of answering 503. Only for requests whose
   * sender needs no response from the upstream.
   */
  overflow?: 'queue' | false;
}

/** What `proxy.later()` takes: the parts of a call that decide what is stored (`body` defaults to 'request'). */
export type LaterOptions = Pick<ProxyCallOptions, 'method' | 'path' | 'headers' | 'forwardHeaders' | 'maxBodySize' | 'bodyTimeout' | 'body'>;

/** A request to deliver later, as the proxy would have sent it upstream at once. */
export interface DeferredRequest {
  method: string;
  /** The upstream's origin, `http://host:port`. */
  origin: string;
  /** The request target sent to it, path and query. */
  path: string;
  /** The upstream request's headers under the same policy as `fetch()`, without framing fields (content-length, transfer-encoding). */
  headers: Record<string, string | string[]>;
  /** The body chunk by chunk (what the proxy read already, then the rest of the client's), or undefined for none. */
  body: AsyncIterable<Uint8Array> | undefined;
  /** The call's limits on reading that body (0: none of the call's own). */
  maxBodySize: number;
  bodyTimeout: number;
  /** `POST http://host/path`, for messages. */
  describe: string;
}

/** Where `proxy.later()` and `overflow: 'queue'` hand a request to. */
export interface RequestQueue {
  /**
   * Stores `request` durably and answers the client: the accepted answer (202) only once the
   * store has committed it, 503 with Retry-After when it could not be stored, 413 past the
   * size limit. Resolves, never rejects, with the outcome (`jobId` set when stored).
   */
  accept(req: IncomingMessage, res: ServerResponse, request: DeferredRequest): Promise<ProxyOutcome>;
}

/** Counters for tests and operators. */
export interface ProxyStats {
  /** Transfers holding a concurrency slot. */
  inFlight: number;
  /** Transfers waiting for a slot. */
  queued: number;
  /** Upstream connections open in the dispatcher (as reported by its connect/disconnect events). */
  upstreamSockets: number;
  closing: boolean;
  /** Present when the proxy has a cache. */
  cache?: CacheStats;
  /** Present when the gate is shared through Redis (the `gate` option). */
  gate?: GateStats;
}

/** Shared gate counters, part of `proxy.stats`. */
export interface GateStats {
  shared: true;
  /** Leases this instance holds in Redis now (transfers admitted while Redis was down hold none until it is back). */
  leasesHeld: number;
  /** Leases so far that renewal found gone (expired during a pause or an outage longer than the TTL) and took again. */
  leasesExpired: number;
  /** Times so far Redis started failing (each reported once through `gate.onError`). */
  redisOutages: number;
  /** Whether admissions go through Redis now. */
  redisUp: boolean;
}

/** Cache counters, part of `proxy.stats`. */
export interface CacheStats {
  hits: number;
  misses: number;
  revalidated: number;
  stale: number;
  /** Requests waiting now for a concurrent request for the same URL, in this instance or (Redis store) another. */
  waiting: number;
  /** Requests so far that waited for another instance's fetch of their URL (Redis store). */
  fleetWaits: number;
  /** Waits so far that ended at `lockTimeout`, the request then going upstream on its own. */
  lockTimeouts: number;
  /** Times so far the store started failing (each reported once through `cache.onError`). */
  storeOutages: number;
}

export interface CloseOptions {
  /** ms in-flight transfers may keep running before they are aborted; default 30 000. */
  timeout?: number;
}
