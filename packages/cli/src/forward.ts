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

/** RFC 9112 §3.2.1 origin-form as the engine sends it: '/', then visible ASCII without '#'. */
const ORIGIN_FORM = /^\/[\x21-\x22\x24-\x7e]*$/;

export interface BackendTarget {
  /** The backend's origin: where to connect. */
  origin: string;
  /** The request target sent to the backend byte for byte: the backend's path prefix + the client's target. */
  path: string;
}

/**
 * Where a request goes on the backend, or undefined when its target cannot be forwarded:
 * only origin-form (`/path?query`) is, and it must stay under the backend's path once
 * dot segments are resolved (`/../` cannot climb out of it). The target itself is sent
 * as the client wrote it (RELIABILITY D25), so `//host/x` is a path on the backend.
 */
export function backendTarget(base: URL, target: string | undefined): BackendTarget | undefined {
  if (!target || !ORIGIN_FORM.test(target)) return undefined;
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const path = `${prefix}${target}`;
  if (prefix !== '') {
    let resolved: URL;
    try {
      resolved = new URL(`${base.origin}${path}`);
    } catch {
      return undefined;
    }
    if (!(resolved.pathname === prefix || resolved.pathname.startsWith(`${prefix}/`))) return undefined;
  }
  return { origin: base.origin, path };
}
