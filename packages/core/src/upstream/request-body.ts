import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ProxyError, type FailureOwner } from '../errors';
import type { ResolvedCall } from '../options/resolve';
import { UploadRate } from './upload-rate';

/** What a transfer sends upstream as its request body. */
export type UpstreamBody = string | Uint8Array | Readable | AsyncIterable<Buffer>;

/** The transfer a client's body belongs to: failed when the upload breaks a limit (too large, stalled, too slow). */
export type BodyOwner = FailureOwner;

/** The upload exceeds the call's maxBodySize (declared or streamed). */
export function tooLarge(call: ResolvedCall, target: string): ProxyError {
  return new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Request body exceeds maxBodySize (${call.maxBodySize} bytes): ${target}`);
}

function stalledError(call: ResolvedCall, target: string): ProxyError {
  return new ProxyError('HANDOFF_REQUEST_TIMEOUT', `Client sent no request body bytes for ${call.bodyTimeout} ms: ${target}`);
}

function tooSlowError(call: ResolvedCall, rate: UploadRate, target: string): ProxyError {
  const limit = `minDataRate.request: ${call.minRequestRate} bytes/s after ${call.rateGrace} ms`;
  return new ProxyError('HANDOFF_REQUEST_TOO_SLOW', `Client sent its request body too slowly (${rate.describe()}; ${limit}): ${target}`);
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

/** True once another reader (a body parser) took the client's body: `body: 'request'` cannot send it any more. */
export function isBodyRead(req: IncomingMessage): boolean {
  return req.readableDidRead || (req.readableEnded && hasRequestBody(req));
}

/**
 * The call's request body: its own, or with `body: 'request'` the client's (nothing when the
 * request has none), guarded by the call's limits; `prefix` is what was read of it already
 * (request-buffer.ts). Throws when another middleware already read the client's.
 */
export function requestBody(req: IncomingMessage, call: ResolvedCall, owner: BodyOwner, prefix?: BodyPrefix): UpstreamBody | undefined {
  if (call.body !== 'request') return call.body;
  if (!prefix && isBodyRead(req)) {
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
  const { maxBodySize } = call;
  const timer = idleTimer(call, owner);
  const rate = prefix ? prefix.rate : uploadRate(call, owner);
  try {
    yield* chunks;
    rate?.waiting();
    for await (const chunk of req as AsyncIterable<Buffer>) {
      timer?.refresh();
      rate?.received(chunk.length);
      bytes += chunk.length;
      if (maxBodySize > 0 && bytes > maxBodySize) {
        owner.fail(tooLarge(call, owner.describe()));
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
  const rate: UploadRate = new UploadRate(call.minRequestRate, call.rateGrace, () => owner.fail(tooSlowError(call, rate, owner.describe())));
  return rate;
}

/** The call's body idle timer for this upload (bodyTimeout between client chunks), if it has one. */
export function idleTimer(call: ResolvedCall, owner: BodyOwner): NodeJS.Timeout | undefined {
  return call.bodyTimeout > 0 ? setTimeout(() => owner.fail(stalledError(call, owner.describe())), call.bodyTimeout) : undefined;
}
