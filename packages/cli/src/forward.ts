import { isOriginForm } from '@handoff/core';

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
  if (!target || !isOriginForm(target)) return undefined;
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
