import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError, declaredTooLarge, refuse, type DeferredRequest, type ProxyOutcome } from '@handoff/core';
import type { ResolvedQueueOptions } from './options';
import type { Stored } from './store';

/** The answer to a request once stored or refused. */
export interface Answered {
  status: number;
  bytes: number;
}

/** The longest Idempotency-Key taken (the IETF draft leaves it open; Stripe allows 255). */
const MAX_KEY_LENGTH = 255;

/** The rule for every Idempotency-Key the queue stores, from a client or from enqueue(). */
export const KEY_RULE = `1 to ${MAX_KEY_LENGTH} visible ASCII characters`;

/** An Idempotency-Key the queue takes: 1 to 255 visible ASCII characters (no spaces, no controls). */
export function isIdempotencyKey(key: string): boolean {
  return key !== '' && key.length <= MAX_KEY_LENGTH && /^[\x21-\x7e]+$/.test(key);
}

/** The client's Idempotency-Key: absent, or a visible-ASCII value of at most 255 characters; otherwise a 400. */
export function clientKey(req: IncomingMessage, describe: string): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0]! : raw.trim();
  if (Array.isArray(raw) || !isIdempotencyKey(key)) {
    throw new ProxyError('HANDOFF_BAD_REQUEST_TARGET', `Idempotency-Key must be one value of ${KEY_RULE}: ${describe}`);
  }
  return key;
}

/** A repeated key is the same request only with the same method, target and body: otherwise 422. */
export function checkRepeat(stored: Stored, print: string, key: string | undefined, describe: string): void {
  if (!stored.created && stored.fingerprint !== print) {
    throw new ProxyError('HANDOFF_IDEMPOTENCY_MISMATCH', `Idempotency-Key ${key} was used for another request: ${describe}`);
  }
}

/** What tells a repeated key with another request apart: method, target and body. */
export function fingerprint(request: DeferredRequest, body: Buffer | undefined): string {
  const hash = createHash('sha256').update(`${request.method} ${request.origin}${request.path}\n`);
  if (body) hash.update(body);
  return hash.digest('base64url');
}

export function newJobId(): string {
  return randomUUID();
}

/**
 * Reads the body to store: whole, up to `limit` bytes (beyond: 413, nothing stored), with
 * at most `idle` ms between chunks (0: no limit; then 408). A client that goes away makes
 * it throw HANDOFF_CLIENT_ABORTED.
 */
export async function readBody(req: IncomingMessage, request: DeferredRequest, limit: number, idle: number): Promise<Buffer | undefined> {
  if (!request.body) return undefined;
  if (declaredTooLarge(req, limit)) throw tooLarge(limit, request.describe);
  const chunks: Buffer[] = [];
  let bytes = 0;
  const iterator = request.body[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    if (idle > 0) timer = setTimeout(() => reject(new ProxyError('HANDOFF_REQUEST_TIMEOUT', `Client sent no request body bytes for ${idle} ms: ${request.describe}`)), idle);
  });
  stalled.catch(() => {});
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await Promise.race([iterator.next(), stalled]);
      } catch (err) {
        if (err instanceof ProxyError) throw err;
        throw new ProxyError('HANDOFF_CLIENT_ABORTED', `Client went away before its request body was complete: ${request.describe}`, { cause: err });
      }
      if (next.done) break;
      timer?.refresh();
      bytes += next.value.length;
      if (bytes > limit) throw tooLarge(limit, request.describe);
      chunks.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks, bytes);
}

function tooLarge(limit: number, describe: string): ProxyError {
  return new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `Request body exceeds the queue's maxBodySize (${limit} bytes): ${describe}`);
}

/** The accepted answer: the configured status and body (JSON unless the body function gives a string; none for 204/205). */
export function writeAccepted(res: ServerResponse, id: string, options: ResolvedQueueOptions): Answered {
  if (!options.acceptedBody) {
    res.writeHead(options.acceptedStatus, { 'cache-control': 'no-store' });
    res.end();
    return { status: options.acceptedStatus, bytes: 0 };
  }
  const value = options.acceptedBody(id);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const body = Buffer.from(text);
  res.writeHead(options.acceptedStatus, {
    'content-type': typeof value === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': String(body.length),
    'cache-control': 'no-store',
  });
  res.end(body);
  return { status: options.acceptedStatus, bytes: body.length };
}

/** A refusal: the engine's default error answer, the connection closed when part of the body may be unread. */
export function writeRefusal(req: IncomingMessage, res: ServerResponse, error: ProxyError, options: ResolvedQueueOptions): Answered {
  if (error.code === 'HANDOFF_CLIENT_ABORTED' || res.headersSent || res.destroyed) return { status: 0, bytes: 0 };
  const unread = !req.complete || error.code === 'HANDOFF_REQUEST_TOO_LARGE' || error.code === 'HANDOFF_REQUEST_TIMEOUT';
  refuse(req, res, error, { retryAfter: options.retryAfter, close: unread });
  return { status: error.status, bytes: 0 };
}

/** The outcome of one request handed to the queue. */
export function outcome(answered: Answered, started: number, error: ProxyError | undefined, jobId: string | undefined): ProxyOutcome {
  const result: ProxyOutcome = { status: answered.status, bytes: answered.bytes, durationMs: performance.now() - started };
  if (error) result.error = error;
  if (jobId !== undefined) result.jobId = jobId;
  return result;
}
