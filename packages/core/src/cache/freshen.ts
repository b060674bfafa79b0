import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { isHopByHop } from '../http/fields';
import { ForwardingHandler } from '../upstream/forwarding-handler';
import type { CacheKey, CacheStore, GetResult } from './keys';
import { OwnController } from './own-controller';
import { originView } from './stash';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

/**
 * Fields a 304 never updates in the stored response (RFC 9111 §3.2): those the stored body
 * depends on — its framing, its coding and the digests of its bytes — and Age.
 */
const KEPT = new Set(['content-length', 'content-range', 'content-encoding', 'content-md5', 'content-digest', 'repr-digest', 'age']);

/**
 * Freshens a stored response with a 304 (RFC 9111 §4.3.4), which undici 7's cache
 * interceptor does not do: on a successful revalidation it serves the stored
 * response but leaves the entry stale, or drops it when the 304 carries
 * Cache-Control, so every later request revalidates or refetches (and requests
 * coalesced behind a revalidation each revalidate again).
 *
 * Sitting below the cache interceptor, this turns the 304 into the stored response
 * with the 304's header fields applied, as a 200 from the upstream: the interceptor
 * then serves it and stores it with freshness computed from the updated fields, by
 * its own rules. A 304 that does not validate the stored response (another strong
 * ETag), or for which nothing usable is stored, passes through unchanged and undici
 * handles it as before.
 */
export class FresheningHandler extends ForwardingHandler {
  #replay: Replay | undefined;
  #passing = true;

  constructor(
    private readonly store: CacheStore,
    private readonly key: CacheKey,
    handler: Handler,
  ) {
    super(handler);
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode !== 304) return this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
    this.#passing = false;
    const replay = new Replay(controller, this.handler, this.key.method === 'HEAD');
    this.#replay = replay;
    let found: ReturnType<CacheStore['get']>;
    try {
      found = this.store.get(this.key);
    } catch {
      found = undefined;
    }
    const decide = (stored: GetResult | undefined) => {
      const body = stored && validates(stored, headers) ? bodyChunks(stored.body) : undefined;
      if (!stored || !body) return replay.passThrough(statusCode, headers, statusMessage);
      replay.start(stored.statusCode, freshenedHeaders(stored, headers), stored.statusMessage, body);
    };
    if (isPromise<GetResult | undefined>(found)) found.then(decide, () => decide(undefined));
    else decide(found);
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    // A 304 has no body; anything else passes through.
    if (this.#passing) this.handler.onResponseData?.(controller, chunk);
  }

  override onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    if (this.#passing) return this.handler.onResponseEnd?.(controller, trailers);
    this.#replay?.upstreamEnded(trailers);
  }

  override onResponseError(controller: Controller, err: Error): void {
    if (this.#passing || !this.#replay) return this.handler.onResponseError?.(controller, err);
    this.#replay.fail(err);
  }
}

/** Replays the stored body to the handler with its own pause/resume, once the 304 has been decided on. */
class Replay {
  #chunks: Buffer[] = [];
  #index = 0;
  #started = false;
  #passThrough = false;
  #ended: IncomingHttpHeaders | undefined;
  #done = false;
  readonly controller = new OwnController({
    onAbort: (reason) => {
      this.#done = true;
      this.upstream.abort(reason);
      // As undici's own replay of a stored body does: an abort ends in an error, so the
      // cache handler discards the write it started rather than leaving it open.
      queueMicrotask(() => this.handler.onResponseError?.(this.controller, reason));
    },
    onPause: () => {},
    onResume: () => this.#flush(),
  });

  constructor(
    private readonly upstream: Controller,
    private readonly handler: Handler,
    private readonly head: boolean,
  ) {}

  passThrough(statusCode: number, headers: IncomingHttpHeaders, statusMessage: string | undefined): void {
    this.#passThrough = true;
    this.#started = true;
    this.handler.onResponseStart?.(this.upstream, statusCode, headers, statusMessage);
    this.#flush();
  }

  start(statusCode: number, headers: Record<string, string | string[]>, statusMessage: string, body: Buffer[]): void {
    if (this.#done) return;
    this.#started = true;
    this.#chunks = this.head ? [] : body;
    this.handler.onResponseStart?.(this.controller, statusCode, headers, statusMessage || 'OK');
    this.#flush();
  }

  upstreamEnded(trailers: IncomingHttpHeaders): void {
    this.#ended = trailers;
    this.#flush();
  }

  fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    // Once the 304 has fully arrived, a late error cannot concern the stored body being replayed.
    this.handler.onResponseError?.(this.#passThrough ? this.upstream : this.controller, err);
  }

  #flush(): void {
    if (!this.#started || this.#done) return;
    while (!this.controller.paused && !this.#done && this.#index < this.#chunks.length) {
      this.handler.onResponseData?.(this.controller, this.#chunks[this.#index++]!);
    }
    if (this.#done || this.controller.paused || this.#index < this.#chunks.length || !this.#ended) return;
    this.#done = true;
    this.handler.onResponseEnd?.(this.#passThrough ? this.upstream : this.controller, this.#ended);
  }
}

/** Whether the 304 validates this stored response: no ETag, or one that matches it (undici's own rule). */
function validates(stored: GetResult, headers: IncomingHttpHeaders): boolean {
  const tag = headers.etag;
  if (tag === undefined) return true;
  if (typeof tag !== 'string' || typeof stored.etag !== 'string') return false;
  if (!tag.startsWith('W/')) return tag === stored.etag;
  return tag.slice(2) === (stored.etag.startsWith('W/') ? stored.etag.slice(2) : stored.etag);
}

function freshenedHeaders(stored: GetResult, update: IncomingHttpHeaders): Record<string, string | string[]> {
  // The stored fields are the cache's view of them: the update applies to the origin's.
  const headers: Record<string, string | string[]> = { ...originView(stored.headers) };
  for (const name in update) {
    const value = update[name];
    if (value === undefined || KEPT.has(name) || isHopByHop(name)) continue;
    headers[name] = value;
  }
  return headers;
}

/** The stored body as chunks, when the store gave it in memory (a stream is not replayed here). */
function bodyChunks(body: GetResult['body']): Buffer[] | undefined {
  if (body == null) return [];
  if (Buffer.isBuffer(body)) return [body];
  if (typeof body === 'string') return [Buffer.from(body)];
  if (Array.isArray(body)) return body.every((chunk) => Buffer.isBuffer(chunk)) ? (body as Buffer[]) : undefined;
  return undefined;
}

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}
