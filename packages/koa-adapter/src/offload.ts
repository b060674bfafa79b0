import type { Readable } from 'node:stream';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import {
  hasOffloadInstruction,
  offloadEngine,
  ProxyError,
  removeInstructionHeaders,
  takeHandlerHeaders,
  stripInstructionHeaders,
  withProxy,
  type OffloadBody,
  type OffloadEngine,
  type OffloadOptions,
  type OffloadRequest,
  type WithProxy,
} from '@handoff/core';

declare module 'koa' {
  interface DefaultContext {
    /**
     * Offloads this response without headers: once the handlers have run, the
     * `offload()` middleware sends `{ url, method?, headers?, body? }` (checked against
     * `allow`) and streams its answer to the client, as for an Offload-Url.
     */
    offload(request: OffloadRequest): void;
  }
}

export type { OffloadOptions } from '@handoff/core';

/** The middleware, with the proxy behind it. */
export interface OffloadMiddleware extends Middleware, WithProxy {}

// Set per request as plain properties (no per-request closures: see the note on ctx.proxyFetch).
const kEngine = Symbol('handoff.offload.engine');
const kRequest = Symbol('handoff.offload.request');

type OffloadContext = Context & { [kEngine]?: OffloadEngine; [kRequest]?: OffloadRequest };

/**
 * Koa middleware that performs offload instructions: after the handlers below it
 * have run, a response carrying `Offload-Requested`/`Offload-Url`, `X-Accel-Redirect`
 * or `X-Sendfile` (or a `ctx.offload()` call) is not sent; its body is discarded (or
 * forwarded) and the response is handed off through the proxy's gate, timeouts and
 * header policy. Instruction headers a client sends are removed before the handlers run.
 */
export function offload(options: OffloadOptions = {}): OffloadMiddleware {
  const engine = offloadEngine(options);
  const { proxy, rules } = engine;
  const apps = new WeakSet<Koa>();

  const middleware = async function offloadMiddleware(ctx: OffloadContext, next: () => Promise<unknown>) {
    if (!apps.has(ctx.app)) install(ctx.app, apps);
    stripInstructionHeaders(ctx.req);
    const res = ctx.res;
    const preset = res.getHeaderNames();
    ctx[kEngine] = engine;
    try {
      await next();
    } catch (err) {
      removeInstructionHeaders(res);
      throw err;
    }
    const request = ctx[kRequest];
    if (ctx.respond === false || res.headersSent || (!request && !hasOffloadInstruction(res.getHeaders()))) {
      if (!res.headersSent) removeInstructionHeaders(res);
      return;
    }
    const headers = takeHandlerHeaders(res, preset);
    const body = bodyOf(ctx);
    const handle = proxy.offload(ctx.req, res, request ? { headers, body, request } : { headers, body }, { offload: rules });
    ctx.respond = false;
    ctx.state.handoff = handle;
    void handle.done.then((outcome) => {
      if (outcome.error) ctx.app.emit('error', outcome.error, ctx);
    });
  };
  return withProxy(middleware, proxy, engine.owned);
}

/** Puts `ctx.offload` on the app's context prototype once, rather than a closure on every ctx. */
function install(app: Koa, apps: WeakSet<Koa>): void {
  apps.add(app);
  if (Object.prototype.hasOwnProperty.call(app.context, 'offload')) return;
  Object.defineProperty(app.context, 'offload', { value: offloadMethod, writable: true, configurable: true });
}

function offloadMethod(this: OffloadContext, request: OffloadRequest): void {
  if (!this[kEngine]) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'ctx.offload() needs the offload() middleware in front of this handler');
  if (typeof request !== 'object' || request === null) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'ctx.offload() needs { url, method?, headers?, body? }');
  this[kRequest] = request;
}

/** The handler's body as the engine takes it: JSON objects serialised as Koa would send them. */
function bodyOf(ctx: Context): OffloadBody | null {
  const body: unknown = ctx.body;
  if (body == null) return null;
  if (typeof body === 'string' || body instanceof Uint8Array || typeof (body as Readable).pipe === 'function') return body as OffloadBody;
  if (typeof body === 'object' && !(body instanceof ReadableStream) && !(body instanceof Blob) && !(body instanceof Response)) {
    return JSON.stringify(body);
  }
  // Web streams, Blobs and Responses are not forwarded; they are left to Koa to release.
  return null;
}
