import type { ServerResponse } from 'node:http';

/**
 * Headers the app set on the response before handing it off (CORS, Vary, …)
 * are kept: they override the upstream's unless `override` is false, and are
 * removed from `res` so the head written is exactly what was validated.
 */
export function mergePresetHeaders(res: ServerResponse, into: Record<string, string | string[]>, override = true): void {
  const names = res.getHeaderNames();
  if (names.length === 0) return;
  for (const name of names) {
    const value = res.getHeader(name);
    res.removeHeader(name);
    if (value === undefined || (!override && into[name] !== undefined)) continue;
    into[name] = typeof value === 'number' ? String(value) : value;
  }
}
