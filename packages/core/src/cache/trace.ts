import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { ForwardingHandler } from '../upstream/forwarding-handler';
import { usableAge } from './age';
import { FresheningHandler } from './freshen';
import type { CacheStore } from './keys';
import { PolicyHeadHandler, type PolicySettings } from './policy-head';
import { clientView } from './stash';

/** How the cache answered one request, sent to the client as `x-cache`. */
export type CacheStatus = 'HIT' | 'MISS' | 'REVALIDATED' | 'STALE';

/**
 * Carried in the dispatch options under `kTrace`; undici's cache interceptor copies
 * the options with a spread, so it reaches the innermost interceptor, which notes
 * whether the request went upstream and what the upstream answered.
 */
export interface CacheTrace {
  upstream: boolean;
  upstreamStatus: number;
  upstreamAge: string | undefined;
}

export const kTrace = Symbol('handoff.cacheTrace');

export function newTrace(): CacheTrace {
  return { upstream: false, upstreamStatus: 0, upstreamAge: undefined };
}

/** What undici's cache interceptor adds to a stored response served stale (RFC 7234's Warning, obsoleted by RFC 9111 §5.5). */
const STALE_WARNING = '110 - "response is stale"';

/**
 * Decides the cache status from the trace and the response the transfer received,
 * and corrects what undici sends: the cache's view of the fields (cache/stash.ts), its
 * obsolete stale Warning, and, after a 304, the old entry's Age (the validated response
 * is as old as the 304 says).
 */
export function markResponse(trace: CacheTrace, statusCode: number, headers: Record<string, string | string[]>): CacheStatus {
  clientView(headers);
  const servedStale = headers.warning === STALE_WARNING;
  if (servedStale) delete headers.warning;
  if (!trace.upstream) return servedStale ? 'STALE' : 'HIT';
  if (trace.upstreamStatus === 304 && statusCode !== 304) {
    headers.age = trace.upstreamAge ?? '0';
    return 'REVALIDATED';
  }
  return servedStale ? 'STALE' : 'MISS';
}

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

/**
 * The innermost interceptor: records on the trace that this request reached the
 * upstream, freshens the stored response when a revalidation answers 304, and gives
 * undici's cache interceptor the fields it decides by (cache/policy-head.ts).
 */
export function traceUpstream(store: CacheStore, policy: PolicySettings): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const trace = (opts as { [kTrace]?: CacheTrace })[kTrace];
    if (!trace) return dispatch(opts, handler);
    trace.upstream = true;
    const headers = opts.headers as Record<string, string | string[]> | undefined;
    const revalidation = headers?.['if-none-match'] !== undefined || headers?.['if-modified-since'] !== undefined;
    const decided = new PolicyHeadHandler(policy, handler);
    const inner = revalidation
      ? new FresheningHandler(store, { origin: String(opts.origin), method: opts.method, path: opts.path, headers }, decided)
      : decided;
    return dispatch(opts, new TracingHandler(trace, inner));
  };
}

class TracingHandler extends ForwardingHandler {
  constructor(
    private readonly trace: CacheTrace,
    handler: Handler,
  ) {
    super(handler);
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.trace.upstreamStatus = statusCode;
    this.trace.upstreamAge = usableAge(headers.age);
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
}
