import type { IncomingMessage } from 'node:http';

/**
 * Instruction headers the sidecar honours from the backend: a client's copy is never
 * forwarded, or a client could ask the backend's framework to emit one (Rack::Sendfile
 * trusts X-Sendfile-Type and X-Accel-Mapping from the request).
 */
const INSTRUCTION = /^(?:offload-|x-accel-|x-sendfile)/;
/**
 * Forwarded by the engine itself, and only when the body is; and `expect`, which the
 * sidecar answers itself (100 Continue) and undici refuses to send.
 */
const NOT_FORWARDED = new Set(['content-type', 'content-encoding', 'content-language', 'content-length', 'expect']);

/**
 * Names of the client's headers to forward to the backend: all of them (cookies and
 * authorization included: the backend is the application), except instruction headers
 * and HTTP/2 pseudo-headers. The engine still drops hop-by-hop fields and the client's
 * Host and X-Forwarded-*, and sets its own X-Forwarded-*.
 */
export function forwardedNames(req: IncomingMessage): string[] {
  const names: string[] = [];
  for (const name in req.headers) {
    if (name.charCodeAt(0) === 58 || INSTRUCTION.test(name) || NOT_FORWARDED.has(name)) continue;
    names.push(name);
  }
  return names;
}

/** Whether the request has a body to stream (RFC 9112 §6.3: Content-Length or Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The backend URL for a request target, or undefined when the target cannot be
 * forwarded: only origin-form (`/path?query`) is, and the result must stay under the
 * backend's path (`/../` cannot climb out of it). The target is appended as text, so
 * `//host/x` stays a path on the backend's origin.
 */
export function backendUrl(base: URL, target: string | undefined): URL | undefined {
  if (!target || target.charCodeAt(0) !== 47) return undefined;
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  let url: URL;
  try {
    url = new URL(`${base.origin}${prefix}${target}`);
  } catch {
    return undefined;
  }
  if (url.origin !== base.origin || !(url.pathname === prefix || url.pathname.startsWith(`${prefix}/`))) return undefined;
  return url;
}
