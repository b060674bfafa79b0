import type { Dispatcher } from 'undici';
import { ForwardingHandler } from '../upstream/forwarding-handler';
import { hasDirective } from './directives';
import { OwnController } from './own-controller';
import { kTrace, type CacheTrace } from './trace';

type Handler = Dispatcher.DispatchHandler;
type Options = Dispatcher.DispatchOptions;

/** The answer to `only-if-cached` when nothing stored may be used (RFC 9111 §5.2.1.7). */
const STATUS = 504;
const MESSAGE = 'Gateway Timeout';

/** Whether the request's Cache-Control holds `only-if-cached`. */
export function onlyIfCached(opts: Options): boolean {
  const headers = opts.headers as Record<string, string | string[] | undefined> | null | undefined;
  const value = headers && typeof headers === 'object' && !Array.isArray(headers) ? headers['cache-control'] : undefined;
  return hasDirective(value, 'only-if-cached');
}

/**
 * Directly outside undici's cache interceptor. On a miss with `only-if-cached`, undici 7
 * answers 504 through the legacy handler API only (lib/interceptor/cache.js,
 * handleUncachedResponse: `handler.onConnect`, `onHeaders`, `onComplete`), and a handler
 * on the current API (every handler of ours) has none of these: nothing was ever called and
 * the request hung. This gives such a request's handler the three legacy callbacks, mapped
 * onto the current ones; nothing else of it changes.
 */
export const answerOnlyIfCached: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) =>
  dispatch(opts, onlyIfCached(opts) ? new LegacyAnswer(handler, traceOf(opts)) : handler);

/**
 * Directly above the upstream: an `only-if-cached` request that gets here (a stale entry
 * undici would revalidate, or an expired one) is answered 504 without contacting the origin.
 */
export const keepOnlyIfCachedLocal: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  if (!onlyIfCached(opts)) return dispatch(opts, handler);
  queueMicrotask(() => answer(handler, traceOf(opts)));
  return true;
};

function traceOf(opts: Options): CacheTrace | undefined {
  return (opts as { [kTrace]?: CacheTrace })[kTrace];
}

/** The 504 on the current handler API: marked a miss (`x-cache: MISS`), not a hit. */
function answer(handler: Handler, trace: CacheTrace | undefined): void {
  if (trace) {
    trace.upstream = true;
    trace.upstreamStatus = STATUS;
  }
  let aborted = false;
  const controller = new OwnController({ onAbort: () => (aborted = true), onPause: () => {}, onResume: () => {} });
  try {
    handler.onRequestStart?.(controller, {});
    if (aborted) return;
    handler.onResponseStart?.(controller, STATUS, { 'content-length': '0' }, MESSAGE);
    if (aborted) return;
    handler.onResponseEnd?.(controller, {});
  } catch (err) {
    handler.onResponseError?.(controller, err as Error);
  }
}

/** A current-API handler that also takes undici's legacy 504 answer (the only path that uses it). */
class LegacyAnswer extends ForwardingHandler {
  constructor(
    handler: Handler,
    private readonly trace: CacheTrace | undefined,
  ) {
    super(handler);
  }

  // undici's legacy calls on its only-if-cached miss: onConnect, onHeaders(504), onComplete.
  onConnect(): void {}

  onHeaders(): boolean {
    answer(this.handler, this.trace);
    return true;
  }

  onComplete(): void {}
}
