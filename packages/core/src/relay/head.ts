import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError } from '../errors';
import { mergePresetHeaders } from '../headers/preset-headers';
import { checkResponseHead } from '../headers/validate';
import { isBodilessStatus } from '../http/fields';
import { applyKeptHeaders } from '../offload/instruction';
import type { OnHeaders, ResponseHead } from '../types';
import type { Headers, SourceHead } from './source';

/** A head ready for the sink: validated, and framed for what its body will be. */
export interface ClientHead {
  status: number;
  headers: Headers;
  /** The length the client is told, or null when the body is framed otherwise (chunked). */
  length: number | null;
  /** Whether the client's response has a body (RFC 9112 §6.3), possibly empty. */
  hasBody: boolean;
}

/** The body length a source's head declares to this client: 0 for a HEAD sent on behalf of another method. */
export function declaredLength(source: SourceHead, req: IncomingMessage): number | null {
  return source.headOnly && req.method !== 'HEAD' && !isBodilessStatus(source.status) ? 0 : source.length;
}

/**
 * The head `onHeaders` sees: the source's, with an offload's kept headers, the empty body of
 * a HEAD sent on behalf of another method, and the headers the app set before the hand-off.
 */
export function draftHead(source: SourceHead, req: IncomingMessage, res: ServerResponse, kept: Headers | undefined): ResponseHead {
  const headers = source.headers;
  if (kept) applyKeptHeaders(headers, kept);
  if (source.headOnly && req.method !== 'HEAD' && !isBodilessStatus(source.status)) {
    // The client is owed a body, and gets an empty one, framed as such.
    headers['content-length'] = '0';
  }
  mergePresetHeaders(res, headers);
  return { status: source.status, headers };
}

/**
 * Runs `onHeaders` (if the call has one) on the draft: the head to send now, a promise of it
 * when the hook is async, or the error to fail with when it throws (HANDOFF_HOOK_FAILED).
 * An async hook counts against the head's deadline: unsettled after `timeout` ms (the
 * call's headersTimeout; 0: none), its promise rejects with a HookTimeout.
 */
export function runHook(hook: OnHeaders | undefined, head: ResponseHead, target: string, timeout: number): ResponseHead | Promise<ResponseHead> | ProxyError {
  if (!hook) return head;
  try {
    const result = hook(head);
    if (isPromise<void | ResponseHead>(result)) return within(result.then((replacement) => replacement ?? head), timeout);
    return result ?? head;
  } catch (err) {
    return hookFailed(err, target);
  }
}

/** An async onHeaders that did not settle within the call's headersTimeout. */
export class HookTimeout extends Error {
  constructor(readonly ms: number) {
    super(`onHeaders did not settle within ${ms} ms (headersTimeout)`);
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (ms === 0) return promise;
  return new Promise((resolve, reject) => {
    // Unref'd: a hook left pending by a transfer that failed meanwhile holds no process open.
    const timer = setTimeout(() => reject(new HookTimeout(ms)), ms).unref();
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** onHeaders threw, rejected or ran out of time. */
export function hookFailed(cause: unknown, target: string): ProxyError {
  const message = cause instanceof HookTimeout ? `${cause.message}: ${target}` : `onHeaders failed: ${target}`;
  return new ProxyError('HANDOFF_HOOK_FAILED', message, { cause });
}

/**
 * Validates the head about to be sent: the head framed for the client, or the error to fail
 * with (HANDOFF_INVALID_HEADER, naming onHeaders when it ran, `target` the request). Headers
 * an `onHeaders` set on `res` itself instead of on the head are taken in first (the head's
 * own win, as in Node's writeHead), by the same rules as those set before the hand-off.
 */
export function finalHead(
  head: ResponseHead,
  length: number | null,
  req: IncomingMessage,
  res: ServerResponse,
  hooked: boolean,
  target: string,
): ClientHead | ProxyError {
  if (hooked && typeof head.headers === 'object' && head.headers !== null) mergePresetHeaders(res, head.headers, false);
  const problem = checkResponseHead(head, length);
  if (problem) {
    const by = hooked ? 'onHeaders produced' : 'Upstream sent';
    return new ProxyError('HANDOFF_INVALID_HEADER', `${by} an invalid response head (${problem}): ${target}`);
  }
  // RFC 9110 §8.6: no content-length on a 204 (an onHeaders may have turned a 200 into one).
  if (head.status === 204) delete head.headers['content-length'];
  return {
    status: head.status,
    headers: head.headers,
    length: head.headers['content-length'] === undefined ? null : length,
    hasBody: req.method !== 'HEAD' && !isBodilessStatus(head.status),
  };
}

export function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}
