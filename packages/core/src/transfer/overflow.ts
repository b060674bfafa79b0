import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError, describeTarget } from '../errors';
import { buildRequestHeaders } from '../headers/request-headers';
import type { ResolvedCall, ResolvedProxyOptions } from '../options/resolve';
import type { DeferredRequest, ProxyOutcome } from '../types';
import { hasRequestBody, type BodyPrefix } from '../upstream/request-body';

/** Framing is the delivering client's: the stored body is sent with its own length. */
const FRAMING = ['content-length', 'transfer-encoding'];

/**
 * Hands the request to the proxy's queue, which answers the client; its outcome is the
 * transfer's. Throws (nothing sent) when the request cannot be deferred.
 */
export function overflowTo(
  proxy: ResolvedProxyOptions,
  req: IncomingMessage,
  res: ServerResponse,
  call: ResolvedCall,
  url: URL,
  read: Buffer | BodyPrefix | undefined,
): Promise<ProxyOutcome> {
  return proxy.queue!.accept(req, res, deferredRequest(req, call, url, proxy, read));
}

/**
 * The request as `fetch()` would have sent it to `url`, for a queue to store and deliver
 * later: the same header policy, the call's own body, or the client's (`read`: what the
 * transfer read of it already, whole or its start; the rest is read by the queue).
 * Throws HANDOFF_INVALID_OPTIONS when another middleware already read the client's body.
 */
export function deferredRequest(req: IncomingMessage, call: ResolvedCall, url: URL, proxy: ResolvedProxyOptions, read?: Buffer | BodyPrefix): DeferredRequest {
  const describe = call.path === undefined ? describeTarget(call.method, url) : `${call.method} ${url.origin}${call.path}`;
  const headers = buildRequestHeaders(req, call, proxy);
  for (const name of FRAMING) delete headers[name];
  return {
    method: call.method,
    origin: url.origin,
    path: call.path ?? `${url.pathname}${url.search}`,
    headers,
    body: deferredBody(req, call, read, describe),
    maxBodySize: call.maxBodySize,
    bodyTimeout: call.bodyTimeout,
    describe,
  };
}

function deferredBody(req: IncomingMessage, call: ResolvedCall, read: Buffer | BodyPrefix | undefined, describe: string): AsyncIterable<Uint8Array> | undefined {
  const body = call.body;
  if (body === undefined) return undefined;
  if (body !== 'request') return typeof body === 'string' ? once(Buffer.from(body)) : body instanceof Uint8Array ? once(body) : body;
  if (Buffer.isBuffer(read)) return once(read);
  if (!read && (req.readableDidRead || (req.readableEnded && hasRequestBody(req)))) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `body: 'request' was given but the request body was already read by another middleware: ${describe}`);
  }
  if (!read && !hasRequestBody(req)) return undefined;
  read?.rate?.stop();
  return clientBody(req, read?.chunks ?? []);
}

async function* once(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  yield chunk;
}

async function* clientBody(req: IncomingMessage, prefix: readonly Buffer[]): AsyncGenerator<Uint8Array> {
  yield* prefix;
  if (req.readableEnded) return;
  for await (const chunk of req as AsyncIterable<Buffer>) yield chunk;
}
