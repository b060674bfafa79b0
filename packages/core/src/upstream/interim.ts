import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { ForwardingHandler } from './forwarding-handler';

type Controller = Dispatcher.DispatchController;

/** Who hears a request's 1xx responses: set on its dispatch options under `kInterim`. */
export interface InterimListener {
  onInterim(statusCode: number, headers: IncomingHttpHeaders): void;
}

/** The dispatch option carrying a request's InterimListener past the interceptors above. */
export const kInterim = Symbol('handoff.interim');

export type InterimOptions = Dispatcher.DispatchOptions & { [kInterim]?: InterimListener };

/**
 * Takes every 1xx response (RFC 9110 §15.2) out of the handler chain and gives it to the
 * request's own listener, never to the handlers above. undici hands each 1xx to
 * `onResponseStart` like a final head, and its cache interceptor takes it for one: a
 * revalidation answered `103` then `304` ends its callback on the 103 and trips
 * `assert(this.#callback != null)` on the 304 (cache-revalidation-handler.js), and a
 * stored response must never replay an interim one. Composed innermost, under the cache.
 * The options object reaches here as the caller made it, or spread by the cache (which
 * keeps symbol keys), so the listener is the attempt that sent the request.
 */
export const interimResponses: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) =>
  dispatch(opts, new InterimResponses(handler, (opts as InterimOptions)[kInterim]));

class InterimResponses extends ForwardingHandler {
  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly listener: InterimListener | undefined,
  ) {
    super(handler);
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return this.listener?.onInterim(statusCode, headers);
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
}
