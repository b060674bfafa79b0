/**
 * Where a client response comes from: an upstream exchange (upstream/exchange.ts) or
 * a file (offload/file-source.ts). A transfer starts one source at a time and reads
 * its response through the listener, in undici's handler vocabulary.
 */
import type { ProxyError } from '../errors';

export type Headers = Record<string, string | string[]>;

/** A response head as a source delivers it: lower-case fields, hop-by-hop fields already removed. */
export interface SourceHead {
  /** The status for the client (the cache may have turned a 200 into a 304). */
  status: number;
  headers: Headers;
  /** The declared body length, or null when the body is framed otherwise. */
  length: number | null;
  /** Whether body bytes will follow: false for a HEAD request and for 204 and 304 answers. */
  hasBody: boolean;
  /** The source's request was a HEAD: its length describes a body nobody sends. */
  headOnly: boolean;
  /** A rate the response asked for (X-Accel-Limit-Rate), in bytes per second; undefined when it asked for none. */
  rateLimit: number | undefined;
}

/**
 * The events of one response. Each names the source it comes from, so a listener can
 * drop the events of a source it has replaced by identity.
 */
export interface SourceListener {
  onResponseStart(source: ResponseSource, head: SourceHead): void;
  onResponseData(source: ResponseSource, chunk: Buffer): void;
  onResponseEnd(source: ResponseSource): void;
  /** Once, and never after onResponseEnd. */
  onResponseError(source: ResponseSource, err: ProxyError): void;
}

export interface ResponseSource {
  /** Starts the request (or opens the file); events follow, possibly within this call. */
  start(): void;
  /**
   * No further data until `resume()`. The end may still come (undici ends a bodiless
   * response even while paused): a source that has sent everything is done with.
   */
  pause(): void;
  resume(): void;
  /** Stops it; no event follows. */
  abort(reason: Error): void;
  /**
   * The listener answered without a body and wants no more events: a source that can use
   * the rest (the cache storing it) reads it on by itself; otherwise the same as `abort`.
   */
  discardBody?(reason: Error): void;
  /** `GET http://host/path`, for messages. */
  describe(): string;
}

/** Drops the rest of a source's body: read on by a source that can use it (`discardBody`), else aborted. */
export function discardBody(source: ResponseSource, reason: Error): void {
  if (source.discardBody) source.discardBody(reason);
  else source.abort(reason);
}
