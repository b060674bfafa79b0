import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { ForwardingHandler } from './forwarding-handler';

type Controller = Dispatcher.DispatchController;

/**
 * A `304 Not Modified` may carry the Content-Length of the representation it validates
 * (RFC 9110 §8.6) and never has a body. undici 7 counts that length against the body it
 * read anyway (client-h1.js, onMessageComplete) and fails the response after its head with
 * UND_ERR_RES_CONTENT_LENGTH_MISMATCH, closing the connection. Composed innermost, under
 * the cache too (its revalidations get such 304s), this ends that response instead: for a
 * 304 the head is the whole response. Every other error passes through.
 */
export const notModifiedLength: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) =>
  dispatch(opts, new NotModifiedLength(handler));

class NotModifiedLength extends ForwardingHandler {
  #status = 0;

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.#status = statusCode;
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  override onResponseError(controller: Controller, err: Error): void {
    if (this.#status === 304 && (err as { code?: string }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
      return this.handler.onResponseEnd?.(controller, {});
    }
    this.handler.onResponseError?.(controller, err);
  }
}
