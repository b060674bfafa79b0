import type { ServerResponse } from 'node:http';
import { isOffloadHeader } from '../http/fields';

/** Removes the instruction headers a handler set, so that a response not offloaded never shows them. */
export function removeInstructionHeaders(res: ServerResponse): void {
  for (const name of res.getHeaderNames()) if (isOffloadHeader(name)) res.removeHeader(name);
}

/**
 * Moves the headers a handler set (those not already there before it, in `preset`) off the
 * response, for an offload of its answer: the engine keeps what `keepHeaders` allows.
 * Headers set before it (CORS, …) stay, as with a proxied response.
 */
export function takeHandlerHeaders(res: ServerResponse, preset: readonly string[]): Record<string, string | string[] | number> {
  const headers: Record<string, string | string[] | number> = {};
  for (const name of res.getHeaderNames()) {
    if (preset.includes(name) && !isOffloadHeader(name)) continue;
    const value = res.getHeader(name);
    res.removeHeader(name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}
