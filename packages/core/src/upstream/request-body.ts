import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ProxyError } from '../errors';
import type { ResolvedCall } from '../options/resolve';
import { UploadRate } from './upload-rate';

/** What a transfer sends upstream as its request body. */
export type UpstreamBody = string | Uint8Array | Readable | AsyncIterable<Buffer>;

/** The transfer a client's streamed body belongs to: told when the upload breaks a limit. */
export interface BodyOwner {
  /** `GET http://host/path`, for messages. */
  describe(): string;
  /** The client sent no body byte for the call's `bodyTimeout`. */
  requestBodyStalled(): void;
  /** The client sent more than the call's `maxBodySize`. */
  requestBodyTooLarge(): void;
  /** The client sent slower than the call's minimum request rate (`rate` describes what it sent). */
  requestBodyTooSlow(rate: UploadRate): void;
}

/** Whether the client declared (Content-Length) a body larger than `maxBodySize` bytes (0: no limit). */
export function declaredTooLarge(req: IncomingMessage, maxBodySize: number): boolean {
  return maxBodySize > 0 && Number(req.headers['content-length']) > maxBodySize;
}

/**
 * Whether a request has a body at all: over HTTP/1.x a Content-Length (not 0) or a
 * Transfer-Encoding (RFC 9112 §6.3); over HTTP/2 a stream not ended with its headers.
 */
export function hasRequestBody(req: IncomingMessage): boolean {
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.httpVersionMajor === 2 && (req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
}

/**
 * The call's request body: its own, or with `body: 'request'` the client's (nothing when the
 * request has none), guarded by the call's limits; `prefix` is what was read of it already
 * (request-buffer.ts). Throws when another middleware already read the client's.
 */
export function requestBody(req: IncomingMessage, call: ResolvedCall, owner: BodyOwner, prefix?: BodyPrefix): UpstreamBody | undefined {
  if (call.body !== 'request') return call.body;
  if (!prefix && (req.readableDidRead || (req.readableEnded && hasRequestBody(req)))) {
    throw new ProxyError(
      'HANDOFF_INVALID_OPTIONS',
      `body: 'request' was given but the request body was already read by another middleware: ${owner.describe()}`,
    );
  }
  if (!hasRequestBody(req)) return undefined;
  if (!prefix && call.bodyTimeout === 0 && call.maxBodySize === 0 && call.minRequestRate === 0) return req;
  return guardedBody(req, call, owner, prefix);
}

/** The start of a body read before the transfer was admitted, and the rate it was read at. */
export interface BodyPrefix {
  chunks: readonly Buffer[];
  rate: UploadRate | undefined;
}

/** Whether a request body can be sent again (for a retry or a followed redirect): not a stream. */
export function replayable(body: UpstreamBody | undefined): boolean {
  return body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/**
 * The client's request body as undici's request body, with the limits a streamed upload
 * needs: an idle timeout and a minimum rate against slow-body (slowloris) clients, which
 * undici's headers timeout does not cover while the body is being written, and a size cap
 * (0 disables each). On any, the owner fails the transfer (aborting the upstream request,
 * so nothing partial is left complete upstream) and the stream ends here. Only the time
 * spent waiting for the client counts against the rate: between a `yield` and undici's next
 * pull, the upstream is the one not reading.
 */
async function* guardedBody(req: IncomingMessage, call: ResolvedCall, owner: BodyOwner, prefix: BodyPrefix | undefined): AsyncGenerator<Buffer> {
  const chunks = prefix?.chunks ?? [];
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.length;
  const { bodyTimeout, maxBodySize } = call;
  // The owner is the timer's argument, so no closure is made per upload.
  const timer = bodyTimeout > 0 ? setTimeout(stalled, bodyTimeout, owner) : undefined;
  const rate = prefix ? prefix.rate : uploadRate(call, owner);
  try {
    yield* chunks;
    rate?.waiting();
    for await (const chunk of req as AsyncIterable<Buffer>) {
      timer?.refresh();
      rate?.received(chunk.length);
      bytes += chunk.length;
      if (maxBodySize > 0 && bytes > maxBodySize) {
        owner.requestBodyTooLarge();
        return;
      }
      yield chunk;
      rate?.waiting();
    }
  } finally {
    clearTimeout(timer);
    rate?.stop();
  }
}

/** The call's minimum request rate for this upload, if it has one. */
export function uploadRate(call: ResolvedCall, owner: BodyOwner): UploadRate | undefined {
  if (call.minRequestRate === 0) return undefined;
  const rate: UploadRate = new UploadRate(call.minRequestRate, call.rateGrace, () => owner.requestBodyTooSlow(rate));
  return rate;
}

function stalled(owner: BodyOwner): void {
  owner.requestBodyStalled();
}
