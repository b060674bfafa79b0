import { STATUS_CODES } from 'node:http';
import type { ProxyError } from '../errors';
import type { ErrorAnswer, ResponseHead } from '../options';
import { checkResponseHead } from '../headers/validate';

export interface ErrorResponse {
  head: ResponseHead;
  body: Buffer;
}

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

/** Validates an `onError` answer; returns null when it cannot be sent as given. */
export function answerResponse(answer: ErrorAnswer): ErrorResponse | { problem: string } {
  const raw = answer.body ?? '';
  if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) return { problem: 'body must be a string or Uint8Array' };
  const body = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers ?? {})) headers[name.toLowerCase()] = value;
  headers['content-length'] = String(body.length);
  const head = { status: answer.status, headers };
  const problem = checkResponseHead(head, body.length);
  return problem ? { problem } : { head, body };
}
