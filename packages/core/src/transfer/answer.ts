import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ProxyError } from '../errors';
import { mergePresetHeaders } from '../headers/preset-headers';
import { checkResponseHead } from '../headers/validate';
import { isBodilessStatus } from '../http/fields';
import type { Sink } from '../sink/sink';
import { hasRequestBody } from '../upstream/request-body';
import type { ErrorAnswer, OnError, ResponseHead } from '../types';

/** A failure's answer, ready to write: a validated head and the whole body. */
export interface ErrorResponse {
  head: ResponseHead;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** The default answer to a failure: a short text body naming the status, never the upstream URL. */
export function defaultErrorResponse(error: ProxyError, retryAfter: number): ErrorResponse {
  const body = Buffer.from(`${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\n`);
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(body.length),
    'cache-control': 'no-store',
  };
  if (error.status === 503) headers['retry-after'] = String(retryAfter);
  return { head: { status: error.status, headers }, body };
}

/** Validates an `onError` answer: the response, or what is wrong with it. */
export function answerResponse(answer: ErrorAnswer): ErrorResponse | { problem: string } {
  const raw = answer.body ?? '';
  if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) return { problem: 'body must be a string or Uint8Array' };
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers ?? {})) headers[name.toLowerCase()] = value;
  // A 204 or 304 has no body (RFC 9110 §6.4.1), and a 204 no Content-Length (§8.6).
  const bodiless = isBodilessStatus(answer.status);
  const body = bodiless ? EMPTY : typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (!bodiless) headers['content-length'] = String(body.length);
  const head = { status: answer.status, headers };
  const problem = checkResponseHead(head, bodiless ? null : body.length);
  return problem ? { problem } : { head, body };
}

/**
 * The answer to a failure: the default one at once without `onError`; otherwise a promise
 * of the answer `onError` gives, when it gives one that can be sent, or of the default,
 * with the reason (an invalid answer, a throw) added to the error's message.
 */
export function errorResponse(error: ProxyError, onError: OnError | undefined, retryAfter: number): ErrorResponse | Promise<ErrorResponse> {
  const fallback = defaultErrorResponse(error, retryAfter);
  return onError ? fromOnError(error, onError, fallback) : fallback;
}

async function fromOnError(error: ProxyError, onError: OnError, fallback: ErrorResponse): Promise<ErrorResponse> {
  try {
    const answer = await onError(error);
    if (!answer) return fallback;
    const custom = answerResponse(answer);
    if (!('problem' in custom)) return custom;
    error.message += ` (onError answer ignored: ${custom.problem})`;
  } catch (err) {
    error.message += ` (onError threw: ${err instanceof Error ? err.message : String(err)})`;
  }
  return fallback;
}

/**
 * Writes an answer through the sink, with the app's preset headers where the answer has
 * none; returns its status. The rest of an unread upload would otherwise be read and
 * discarded before the next request on the connection: such a connection is closed.
 */
export function writeAnswer(sink: Sink, response: ErrorResponse, req: IncomingMessage, res: ServerResponse, done: () => void): number {
  const headers = response.head.headers;
  mergePresetHeaders(res, headers, false);
  if (!req.complete && sink.keepsConnection && req.httpVersionMajor === 1) headers.connection = 'close';
  const hasBody = req.method !== 'HEAD' && !isBodilessStatus(response.head.status);
  sink.head(response.head.status, headers, hasBody ? response.body.length : null, hasBody);
  if (hasBody) sink.write(response.body);
  sink.end(done);
  return response.head.status;
}

/**
 * Answers a request the proxy refuses before any transfer (a request target it cannot
 * forward, arguments it throws for) with the same default answer a failed transfer gets.
 * The connection is closed when asked (`close`, for a request that makes no sense on it)
 * or when an upload may still be unread.
 */
export function refuse(req: IncomingMessage, res: ServerResponse, error: ProxyError, options: { retryAfter?: number; close?: boolean } = {}): void {
  const response = defaultErrorResponse(error, options.retryAfter ?? 1);
  const headers = response.head.headers;
  if (req.httpVersionMajor === 1 && (options.close || (hasRequestBody(req) && !req.complete))) headers.connection = 'close';
  if (!res.headersSent) res.writeHead(response.head.status, headers);
  res.end(req.method === 'HEAD' ? undefined : response.body);
}
