import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  hasOffloadInstruction,
  offloadEngine,
  removeInstructionHeaders,
  stripInstructionHeaders,
  takeHandlerHeaders,
  withProxy,
  ProxyError,
  type OffloadBody,
  type OffloadEngine,
  type OffloadOptions,
  type OffloadRequest,
  type ProxyHandle,
  type WithProxy,
} from '@handoff/core';
import { END, handOff, installOn, restoreEnd } from './hand-off';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Response {
      /**
       * Offloads this response without headers: sends `{ url, method?, headers?, body? }`
       * (checked against the `offload()` middleware's `allow`) and streams its answer to the
       * client. Resolves with the handle once the proxy owns the response.
       */
      offload(request: OffloadRequest): Promise<ProxyHandle>;
    }
  }
}

export type { OffloadOptions } from '@handoff/core';

/** The middleware, with the proxy behind it. */
export interface OffloadMiddleware extends RequestHandler, WithProxy {}

// Per-request state as plain properties: no closures per request (see hand-off.ts).
const kEngine = Symbol('handoff.offload.engine');
const kPreset = Symbol('handoff.offload.preset');

type End = Response['end'];
type OffloadResponse = Response & { [kEngine]?: OffloadEngine; [kPreset]?: string[]; [END]?: End };

/**
 * Express middleware that performs offload instructions: a response the handlers behind it
 * end (`res.end`, `res.send`, `res.sendStatus`, …) carrying `Offload-Requested`/`Offload-Url`,
 * `X-Accel-Redirect` or `X-Sendfile` is not sent; its body is discarded (or forwarded) and the
 * response is handed off through the proxy's gate, timeouts and header policy. `res.offload()`
 * does the same with a typed request. Instruction headers a client sends are removed first.
 */
export function offload(options: OffloadOptions = {}): OffloadMiddleware {
  const engine = offloadEngine(options);

  const middleware = function offloadMiddleware(req: Request, res: OffloadResponse, next: NextFunction) {
    installOn(res, 'offload', offloadMethod);
    stripInstructionHeaders(req);
    res[kEngine] = engine;
    res[kPreset] = res.getHeaderNames();
    res[END] = res.end;
    res.end = endOrOffload as End;
    next();
  };
  return withProxy(middleware, engine.proxy, engine.owned);
}

/** `res.end` while the offload() middleware watches: an instruction in the head is performed instead of sent. */
function endOrOffload(this: OffloadResponse, ...args: unknown[]): Response {
  const end = restoreEnd(this);
  if (this.headersSent || !hasOffloadInstruction(this.getHeaders())) {
    if (!this.headersSent) removeInstructionHeaders(this);
    return (end as (...rest: unknown[]) => Response).apply(this, args);
  }
  const engine = this[kEngine]!;
  const headers = takeHandlerHeaders(this, this[kPreset] ?? []);
  const [chunk, encoding] = args;
  const body = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : chunk;
  const source = { headers, body: body instanceof Uint8Array ? (body as OffloadBody) : null };
  this.locals.handoff = engine.proxy.offload(this.req, this, source, { offload: engine.rules });
  return this;
}

function offloadMethod(this: OffloadResponse, request: OffloadRequest): Promise<ProxyHandle> {
  const engine = this[kEngine];
  if (engine && (typeof request !== 'object' || request === null)) {
    return Promise.reject(new ProxyError('HANDOFF_INVALID_OPTIONS', 'res.offload() needs { url, method?, headers?, body? }'));
  }
  return handOff(this, 'res.offload', engine?.proxy, undefined, (proxy) => {
    removeInstructionHeaders(this);
    return proxy.offload(this.req, this, request, { offload: engine!.rules });
  });
}
