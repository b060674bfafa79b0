import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { ForwardingHandler } from '../upstream/forwarding-handler';
import { kTrace, markResponse, newTrace, type CacheTrace } from './trace';
import type { CacheCounter } from './transfer-hooks';

type Controller = Dispatcher.DispatchController;

/**
 * The app's own requests through the proxy's cache (`proxy.cachedDispatcher`): the same
 * store, rules (a shared cache: `private` responses are never stored) and coalescing as
 * `proxyFetch`, with the same marking — `x-cache: HIT | MISS | REVALIDATED | STALE` on the
 * response the caller gets, counted in `stats.cache`. Outermost, so every GET/HEAD carries
 * the trace the innermost interceptor fills in.
 */
export function markForCaller(counter: CacheCounter): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    if (opts.method !== 'GET' && opts.method !== 'HEAD') return dispatch(opts, handler);
    const trace = newTrace();
    return dispatch({ ...opts, [kTrace]: trace } as Dispatcher.DispatchOptions, new CallerMarking(handler, trace, counter));
  };
}

class CallerMarking extends ForwardingHandler {
  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly trace: CacheTrace,
    private readonly counter: CacheCounter,
  ) {
    super(handler);
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode >= 200) {
      const fields = headers as Record<string, string | string[]>;
      const served = markResponse(this.trace, statusCode, fields);
      fields['x-cache'] = served;
      this.counter.record(served);
    }
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
}
