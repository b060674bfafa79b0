import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProxyError, isBodyRead, type ProxyCallOptions, type ProxyHandle, type ProxyMode, type ProxyOutcome } from '@handoff/core';

/**
 * Hands `reply` off to the transfer `start` makes. The core is called before
 * `reply.hijack()`: after a hijack a rejected handler promise is only logged while the
 * client hangs, so a refusal must happen while Fastify can still answer it.
 */
export function handOff(
  reply: FastifyReply,
  options: ProxyCallOptions | undefined,
  mode: ProxyMode,
  start: () => ProxyHandle,
): Promise<ProxyHandle> {
  const request = reply.request;
  if (options?.body === 'request' && isBodyRead(request.raw)) {
    return Promise.reject(
      new ProxyError(
        'HANDOFF_INVALID_OPTIONS',
        `body: 'request' was given but the request body was already read by another middleware (a Fastify body parser: see passThroughBodies()): ${request.method} ${request.url}`,
        { option: 'body' },
      ),
    );
  }
  const copied = copyReplyHeaders(reply);
  let handle: ProxyHandle;
  try {
    handle = start();
  } catch (err) {
    for (const name of copied) reply.raw.removeHeader(name);
    return Promise.reject(err);
  }
  reply.hijack();
  void handle.done.then((outcome) => logOutcome(request, outcome, options?.mode ?? mode));
  return Promise.resolve(handle);
}

/**
 * `reply.header()` keeps headers on the Reply, which a hijacked reply never writes: the
 * engine keeps what is on the raw response, so they are copied there. Returns the names
 * copied, to undo it if the call is refused. (Headers `onSend` hooks would add, such as
 * compression's, never reach a hijacked reply.)
 */
function copyReplyHeaders(reply: FastifyReply): string[] {
  const copied: string[] = [];
  const headers = reply.getHeaders();
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || reply.raw.hasHeader(name)) continue;
    reply.raw.setHeader(name, value);
    copied.push(name);
  }
  return copied;
}

/**
 * A failed transfer is logged through the request's logger, with its code. In socket mode
 * the raw response never emits 'finish', so Fastify's 'request completed' line (and the
 * onResponse hooks) never run: the line is written from the outcome instead.
 */
export function logOutcome(request: FastifyRequest, outcome: ProxyOutcome, mode: ProxyMode): void {
  const { error } = outcome;
  if (error) {
    const level = error.code === 'HANDOFF_CLIENT_ABORTED' ? 'info' : 'error';
    request.log[level]({ err: error, code: error.code, status: outcome.status }, `handoff transfer failed: ${error.message}`);
  }
  if (mode === 'socket') {
    request.log.info({ res: { statusCode: outcome.status }, responseTime: outcome.durationMs, bytes: outcome.bytes }, 'request completed');
  }
}
