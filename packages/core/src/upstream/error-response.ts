import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ProxyError } from '../errors';
import type { ErrorAnswer, OnError, ProxyMode, ResponseHead } from '../options';
import { mergePresetHeaders } from '../headers/preset-headers';
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

/**
 * The answer `onError` gives, when it gives one that can be sent; otherwise `fallback`,
 * with the reason (an invalid answer, a throw) added to the error's message.
 */
export async function onErrorResponse(error: ProxyError, onError: OnError, fallback: ErrorResponse): Promise<ErrorResponse> {
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

/** The answer's headers as sent: with the app's preset headers where the answer has none. */
export function errorResponseHeaders(
  response: ErrorResponse,
  req: IncomingMessage,
  res: ServerResponse,
  mode: ProxyMode,
): Record<string, string | string[]> {
  const headers = response.head.headers;
  mergePresetHeaders(res, headers, false);
  if (!req.complete && mode === 'response' && req.httpVersionMajor === 1) {
    // The rest of an unread upload would otherwise be read and discarded before the next request.
    headers.connection = 'close';
  }
  return headers;
}
