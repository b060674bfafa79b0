import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createProxy,
  hasOffloadInstruction,
  removeInstructionHeaders,
  stripInstructionHeaders,
  takeHandlerHeaders,
  validateOffloadRules,
  ProxyError,
  type CloseOptions,
  type HandoffProxy,
  type OffloadBody,
  type OffloadRequest,
  type OffloadRules,
  type ProxyHandle,
  type ProxyOptions,
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

export interface OffloadOptions extends OffloadRules {
  /** The engine offloads run through: a Proxy (e.g. `handoff().proxy`, sharing its gate), or options for one of its own. */
  proxy?: HandoffProxy | ProxyOptions;
}

/** The middleware, with the proxy behind it. */
export interface OffloadMiddleware extends RequestHandler {
  readonly proxy: HandoffProxy;
  /** Closes the proxy if this middleware created it; a shared one is closed by its owner. */
  close(options?: CloseOptions): Promise<void>;
}

interface Engine {
  proxy: HandoffProxy;
  rules: OffloadRules;
}

// Per-request state as plain properties: no closures per request (see hand-off.ts).
const kEngine = Symbol('handoff.offload.engine');
const kPreset = Symbol('handoff.offload.preset');

type End = Response['end'];
type OffloadResponse = Response & { [kEngine]?: Engine; [kPreset]?: string[]; [END]?: End };

/**
 * Express middleware that performs offload instructions: a response the handlers behind it
 * end (`res.end`, `res.send`, `res.sendStatus`, …) carrying `Offload-Requested`/`Offload-Url`,
 * `X-Accel-Redirect` or `X-Sendfile` is not sent; its body is discarded (or forwarded) and the
 * response is handed off through the proxy's gate, timeouts and header policy. `res.offload()`
 * does the same with a typed request. Instruction headers a client sends are removed first.
 */
export function offload(options: OffloadOptions = {}): OffloadMiddleware {
  const { proxy: given, ...rules } = options;
  const owned = !isProxy(given);
  const proxy = isProxy(given) ? given : createProxy(given);
  validateOffloadRules(rules);
  const engine: Engine = { proxy, rules };

  const middleware = function offloadMiddleware(req: Request, res: OffloadResponse, next: NextFunction) {
    installOn(res, 'offload', offloadMethod);
    stripInstructionHeaders(req);
    res[kEngine] = engine;
    res[kPreset] = res.getHeaderNames();
    res[END] = res.end;
    res.end = endOrOffload as End;
    next();
  };
  return Object.assign(middleware, {
    proxy,
    close: (closeOptions?: CloseOptions) => (owned ? proxy.close(closeOptions) : Promise.resolve()),
  });
}

/** A Proxy from any installed copy of @handoff/core (so not `instanceof`). */
function isProxy(value: HandoffProxy | ProxyOptions | undefined): value is HandoffProxy {
  return typeof (value as HandoffProxy | undefined)?.offload === 'function' && typeof (value as HandoffProxy).fetch === 'function';
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
