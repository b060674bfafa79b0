import type { Response } from 'express';
import { ProxyError, isBodyRead, type HandoffProxy, type ProxyCallOptions, type ProxyHandle } from '@handoff/core';

/** The proxy of the handoff() middleware that ran last for this request. */
export const PROXY = Symbol('handoff.proxy');
/** `res.end` as it was before the offload() middleware watched it: put back on any hand-off. */
export const END = Symbol('handoff.offload.end');
export type ProxiedResponse = Response & { [PROXY]?: HandoffProxy; [END]?: Response['end'] };

/** Stops the offload() middleware watching `res.end`, and returns the end it watched. */
export function restoreEnd(res: ProxiedResponse): Response['end'] {
  const end = res[END] ?? (Object.getPrototypeOf(res) as Response).end;
  res.end = end;
  return end;
}

/**
 * Puts `method` on the prototype of this app's responses, once, rather than a closure on
 * every response (see the note on ctx.proxyFetch in @handoff/koa). The app's own prototype,
 * not `require('express').response`: in a workspace the adapter's copy of express need not be
 * the app's. Mounted sub-apps' response prototypes inherit from their parent's.
 */
export function installOn(res: Response, name: string, method: (...args: never[]) => unknown): void {
  const proto = Object.getPrototypeOf(res) as object;
  if (Object.prototype.hasOwnProperty.call(proto, name)) return;
  Object.defineProperty(proto, name, { value: method, writable: true, configurable: true });
}

/**
 * The hand-off `res.proxyFetch` and `res.offload` make: refuse what would only fail inside
 * the transfer (a body a parser already read), start it, record its handle. A refusal
 * rejects before the response was touched, so Express's error handlers answer it.
 */
export async function handOff(
  res: ProxiedResponse,
  name: string,
  proxy: HandoffProxy | undefined,
  options: ProxyCallOptions | undefined,
  start: (proxy: HandoffProxy) => ProxyHandle,
): Promise<ProxyHandle> {
  if (!proxy) throw new ProxyError('HANDOFF_INVALID_OPTIONS', `${name} was called on a request the ${name === 'res.offload' ? 'offload()' : 'handoff()'} middleware did not run for`);
  if (options?.body === 'request' && isBodyRead(res.req)) {
    // The core refuses it too, but inside the transfer, with its own 500: this reaches next(err).
    throw new ProxyError(
      'HANDOFF_INVALID_OPTIONS',
      `body: 'request' was given but the request body was already read by another middleware (express.json()?): ${res.req.method} ${res.req.originalUrl}`,
      { option: 'body' },
    );
  }
  const poweredBy = takePoweredBy(res);
  if (res[END]) restoreEnd(res);
  try {
    const handle = start(proxy);
    res.locals.handoff = handle;
    return handle;
  } catch (err) {
    if (poweredBy !== undefined) res.setHeader('x-powered-by', poweredBy);
    throw err;
  }
}

/**
 * Express's own `X-Powered-By: Express` describes the gateway, not the upstream's response:
 * it is not one of the headers the app chose to keep, so it is dropped from proxied responses.
 */
function takePoweredBy(res: Response): string | undefined {
  if (res.headersSent || res.getHeader('x-powered-by') !== 'Express') return undefined;
  res.removeHeader('x-powered-by');
  return 'Express';
}
