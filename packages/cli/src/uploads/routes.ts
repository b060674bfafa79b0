import { isOriginForm, isToken } from '@handoff/core';
import { ConfigError } from '../config/values';

/** A configured upload route: requests with this method under this path prefix are uploads. */
export interface UploadRoute {
  method: string;
  /** Starts with '/'; a prefix ending in '/' matches below it, one without also matches itself. */
  prefix: string;
}

/** `PUT /uploads/`: a method, a space, a path prefix. */
export function uploadRoute(value: unknown): UploadRoute {
  const match = typeof value === 'string' ? /^\s*([^\s]+)\s+(\/\S*)\s*$/.exec(value) : null;
  if (!match || !isToken(match[1]!) || !isOriginForm(match[2]!) || match[2]!.includes('?')) {
    throw new ConfigError(`must be a method and a path prefix, like "PUT /uploads/" or "POST /api/files", got ${JSON.stringify(value)}`);
  }
  return { method: match[1]!.toUpperCase(), prefix: match[2]! };
}

/** A shared secret for HS256: at least 32 characters (256 bits, RFC 7518 §3.2); empty means none. */
export function uploadSecret(value: unknown): string {
  if (typeof value !== 'string') throw new ConfigError('must be a string');
  if (value !== '' && value.length < 32) throw new ConfigError(`must be at least 32 characters (HS256 wants a 256-bit key), got ${value.length}`);
  return value;
}

/** `/authorize`: appended to an upload's path for its authorize request. */
export function authorizeSuffix(value: unknown): string {
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(value)) {
    throw new ConfigError(`must be a path suffix starting with /, like /authorize, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The route `req` falls under, if any; `path` is the request target without its query. */
export function matchRoute(routes: readonly UploadRoute[], method: string | undefined, path: string): UploadRoute | undefined {
  return routes.find((r) => r.method === method && (path.startsWith(r.prefix) || (!r.prefix.endsWith('/') && path === r.prefix)));
}

