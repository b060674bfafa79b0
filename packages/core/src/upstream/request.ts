import type { Dispatcher } from 'undici';
import { describeTarget } from '../errors';
import { BODY_FIELDS } from '../http/fields';
import type { Hop } from './redirect';
import type { UpstreamBody } from './request-body';

type Headers = Record<string, string | string[]>;

/**
 * One upstream request, as a value: a followed redirect makes a new one (`redirected`),
 * nothing resets fields of the current one.
 */
export interface UpstreamRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Headers;
  readonly body: UpstreamBody | undefined;
  /** The call's request target, sent as is (a redirect's hop is sent as parsed). */
  readonly rawPath: string | undefined;
  readonly dispatcher: Dispatcher;
  /** Redirects followed to get here. */
  readonly hops: number;
  /** The previous hop's description, once a redirect was followed. */
  readonly redirectedFrom: string | undefined;
}

/** Dropped when a redirect leaves the origin, as fetch does for Authorization. */
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

/** `GET http://host/path (redirected from GET http://host/old)`, for messages; credentials never appear. */
export function describeRequest(request: UpstreamRequest): string {
  const target =
    request.rawPath === undefined ? describeTarget(request.method, request.url) : `${request.method} ${request.url.origin}${request.rawPath}`;
  return request.redirectedFrom ? `${target} (redirected from ${request.redirectedFrom})` : target;
}

/** The URL a redirect's Location is resolved against. */
export function requestUrl(request: UpstreamRequest): URL {
  return request.rawPath === undefined ? request.url : new URL(request.rawPath, request.url.origin);
}

/** The next hop's request: credentials stay behind when the origin changes, the body when the hop drops it. */
export function redirected(request: UpstreamRequest, hop: Hop): UpstreamRequest {
  const headers = { ...request.headers };
  if (request.url.origin !== hop.url.origin) for (const name of CREDENTIALS) delete headers[name];
  if (!hop.keepBody) for (const name of BODY_FIELDS) delete headers[name];
  return {
    url: hop.url,
    method: hop.method,
    headers,
    body: hop.keepBody ? request.body : undefined,
    rawPath: undefined,
    dispatcher: request.dispatcher,
    hops: request.hops + 1,
    redirectedFrom: describeRequest(request),
  };
}
