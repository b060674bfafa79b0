import type { IncomingMessage } from 'node:http';
import type { Dispatcher } from 'undici';
import { takeConditional } from '../cache/conditional';
import type { HttpCache } from '../cache/http-cache';
import type { ResponseSource } from '../relay/source';
import { buildRequestHeaders } from '../headers/request-headers';
import type { ResolvedCall, ResolvedProxyOptions } from '../options/resolve';
import type { AllowPolicy } from './allow';
import { UpstreamExchange, type ExchangeListener } from './exchange';
import type { UpstreamRequest } from './request';
import { requestBody, type BodyOwner, type BodyPrefix } from './request-body';

/** What building an exchange needs from the proxy. */
export interface UpstreamContext {
  readonly options: ResolvedProxyOptions;
  readonly allow: AllowPolicy | undefined;
  readonly cache: HttpCache | undefined;
  readonly dispatcher: Dispatcher;
  /** The dispatcher for targets checked by `policy` (a predicate's may never resolve to private addresses). */
  dispatcherFor(policy: AllowPolicy | undefined): Dispatcher;
  /** ms for an exchange's own connect timer: 0 when the dispatcher enforces the call's connect timeout itself. */
  connectTimer(call: ResolvedCall): number;
}

/** The proxy's allow-list as the policies a redirect hop is checked against. */
export function policies(...candidates: Array<AllowPolicy | undefined>): readonly AllowPolicy[] {
  return candidates.filter((policy): policy is AllowPolicy => policy !== undefined);
}

/**
 * The exchange for a call's own upstream: the client's headers under the header policy, its
 * body (as read before admission, or streamed) under the call's limits, through the cache unless the call performs offloads (whose
 * answers are never stored, see the README's Caching limits).
 */
export function callExchange(
  listener: ExchangeListener,
  context: UpstreamContext,
  req: IncomingMessage,
  call: ResolvedCall,
  url: URL,
  bodyOwner: BodyOwner,
  /** The client's body as read before admission: whole, or its start (request-buffer.ts). */
  read?: Buffer | BodyPrefix,
): ResponseSource {
  const cache = call.cache && !call.offload ? context.cache : undefined;
  const headers = buildRequestHeaders(req, call, context.options);
  const body = Buffer.isBuffer(read) ? read : requestBody(req, call, bodyOwner, read);
  const { method } = call;
  // The client's own validators stay off the upstream request: the cache answers them.
  const conditional = cache && (method === 'GET' || method === 'HEAD') ? takeConditional(headers) : undefined;
  const request: UpstreamRequest = { url, method, headers, body, rawPath: call.path, dispatcher: cache?.dispatcher ?? context.dispatcher, hops: 0, redirectedFrom: undefined };
  if (cache && body === undefined) {
    const hit = cache.freshHit(listener, request, conditional);
    if (hit) return hit;
  }
  return new UpstreamExchange(listener, request, {
    headersTimeout: call.headersTimeout,
    connectTimeout: context.connectTimer(call),
    followRedirects: call.followRedirects,
    allow: policies(context.allow),
    instructions: call.offload,
    stripInstructions: call.offload !== undefined,
    cache,
    conditional,
    bodyTimeout: call.bodyTimeout,
  });
}
