import type { ServerResponse } from 'node:http';
import { isHopByHop } from '../http/fields';

/**
 * Headers the app set on the response before handing it off (CORS, Vary, …) are kept:
 * they override the upstream's unless `override` is false, and are removed from `res` so
 * the head written is exactly what was validated.
 *
 * The framing of the proxied body is the proxy's own, so the app's framing fields —
 * `Content-Length`, `Transfer-Encoding`, `Keep-Alive` and the other hop-by-hop fields
 * (a Koa body set earlier, a middleware's guess) — are dropped. One is honoured:
 * `Connection: close` (a draining server's), left on `res` for Node, which closes the
 * connection after this response; it never reaches the raw socket in socket mode, which
 * closes it anyway.
 */
export function mergePresetHeaders(res: ServerResponse, into: Record<string, string | string[]>, override = true): void {
  const names = res.getHeaderNames();
  if (names.length === 0) return;
  for (const name of names) {
    const value = res.getHeader(name);
    if (name === 'connection' && asksToClose(value)) {
      res.setHeader('connection', 'close');
      continue;
    }
    res.removeHeader(name);
    if (value === undefined || name === 'content-length' || isHopByHop(name) || (!override && into[name] !== undefined)) continue;
    into[name] = typeof value === 'number' ? String(value) : value;
  }
}

function asksToClose(value: string | string[] | number | undefined): boolean {
  const values = Array.isArray(value) ? value : [String(value)];
  return values.some((v) => v.split(',').some((token) => token.trim().toLowerCase() === 'close'));
}
