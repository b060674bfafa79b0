import fs from 'node:fs';
import path from 'node:path';
import { isHopByHop } from '../http/fields';
import { isFieldValue, isToken } from '../http/syntax';
import { invalid } from '../options/values';
import { AllowPolicy, type AllowOption } from '../upstream/allow';

/** What an offload performed: an `Offload-Url`, an `X-Accel-Redirect` or an `X-Sendfile`. */
export type OffloadKind = 'url' | 'accel' | 'sendfile';

/** What a response may ask the proxy to do instead of being relayed, and where it may lead. */
export interface OffloadRules {
  /** Origins (or a predicate) that `Offload-Url` may point to. Default: none, so every Offload-Url is refused (403). */
  allow?: AllowOption;
  /** X-Accel-Redirect prefixes (`'/internal/'`) → upstream base URLs (`'http://files:9000/store/'`); the prefix is replaced by the base's path. */
  accel?: Readonly<Record<string, string>>;
  /** Directories X-Sendfile may serve from. Default: none (X-Sendfile is refused). */
  sendfileRoots?: readonly string[];
  /** Headers of the handler's or backend's own response kept on the final response (names, or a predicate over lower-case names). */
  keepHeaders?: readonly string[] | ((name: string) => boolean);
  /** Redirects of an offload target to follow, each re-checked against the allow-lists; 0 relays them. */
  followRedirects?: number;
}

/** Kept by default: what the app decides about the response, as opposed to what describes the offloaded bytes. */
export const DEFAULT_KEEP_HEADERS: readonly string[] = ['set-cookie', 'cache-control', 'expires', 'content-disposition', 'vary'];

/** Describe the handler's own body, never the offloaded one; a policy can not keep them. */
const NEVER_KEPT = new Set(['content-length', 'content-encoding', 'content-range', 'transfer-encoding', 'etag', 'last-modified']);

export interface AccelRoute {
  prefix: string;
  base: URL;
}

export interface SendfileRoot {
  /** As configured (resolved against the working directory), compared with X-Sendfile values. */
  path: string;
  /** Its realpath, which a file's realpath must stay inside (no symlink out of the root). */
  real: string;
}

export interface ResolvedOffloadRules {
  allow: AllowPolicy | undefined;
  /** Longest prefix first. */
  accel: readonly AccelRoute[];
  roots: readonly SendfileRoot[];
  keep: (name: string) => boolean;
  followRedirects: number;
}

const resolved = new WeakMap<OffloadRules, ResolvedOffloadRules>();

/**
 * Validates a rules object once and remembers the result for that object, so the
 * same rules passed on every call cost a lookup. Treat a rules object as frozen once used.
 */
export function resolveOffloadRules(rules: OffloadRules): ResolvedOffloadRules {
  if (typeof rules !== 'object' || rules === null) throw invalid('offload', 'offload must be an object of offload rules');
  let result = resolved.get(rules);
  if (!result) {
    result = {
      allow: rules.allow == null ? undefined : new AllowPolicy(rules.allow, 'offload.allow'),
      accel: accelRoutes(rules.accel),
      roots: sendfileRoots(rules.sendfileRoots),
      keep: keepPolicy(rules.keepHeaders),
      followRedirects: redirects(rules.followRedirects),
    };
    resolved.set(rules, result);
  }
  return result;
}

function redirects(value: unknown): number {
  if (value == null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid('offload.followRedirects', `offload.followRedirects must be an integer >= 0, got ${String(value)}`);
  }
  return value;
}

function accelRoutes(value: unknown): AccelRoute[] {
  if (value == null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('offload.accel', "offload.accel must be an object of prefix: base URL, like { '/internal/': 'http://files:9000/' }");
  }
  const routes: AccelRoute[] = [];
  for (const [prefix, target] of Object.entries(value as Record<string, unknown>)) {
    if (!isAccelPrefix(prefix)) {
      throw invalid('offload.accel', `offload.accel prefix ${JSON.stringify(prefix)} must be a plain path that starts and ends with '/'`);
    }
    let base: URL;
    try {
      base = new URL(String(target));
    } catch {
      throw invalid('offload.accel', `offload.accel[${JSON.stringify(prefix)}] is not an absolute URL: ${JSON.stringify(target)}`);
    }
    if ((base.protocol !== 'http:' && base.protocol !== 'https:') || base.username || base.password || base.search || base.hash) {
      throw invalid('offload.accel', `offload.accel[${JSON.stringify(prefix)}] must be an http(s) URL without credentials, query or fragment`);
    }
    if (!isAccelBase(base)) {
      throw invalid('offload.accel', `offload.accel[${JSON.stringify(prefix)}] must end with '/', got ${JSON.stringify(target)}`);
    }
    routes.push({ prefix, base });
  }
  return routes.sort((a, b) => b.prefix.length - a.prefix.length);
}

function sendfileRoots(value: unknown): SendfileRoot[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw invalid('offload.sendfileRoots', 'offload.sendfileRoots must be an array of directories');
  return value.map((entry: unknown) => {
    if (typeof entry !== 'string' || entry === '' || entry.includes('\0')) {
      throw invalid('offload.sendfileRoots', `offload.sendfileRoots holds an invalid path: ${JSON.stringify(entry)}`);
    }
    const resolvedPath = path.resolve(entry);
    let real: string;
    try {
      real = fs.realpathSync(resolvedPath);
      if (!fs.statSync(real).isDirectory()) throw new Error('not a directory');
    } catch (cause) {
      throw invalid('offload.sendfileRoots', `offload.sendfileRoots entry ${resolvedPath} is not an existing directory`, cause);
    }
    if (resolvedPath === path.sep || real === path.sep) throw invalid('offload.sendfileRoots', 'offload.sendfileRoots may not hold the filesystem root');
    return { path: resolvedPath, real };
  });
}

function keepPolicy(value: unknown): (name: string) => boolean {
  const allowed = (name: string) => !NEVER_KEPT.has(name) && !isHopByHop(name);
  if (value == null) {
    const names = new Set(DEFAULT_KEEP_HEADERS);
    return (name) => names.has(name);
  }
  if (typeof value === 'function') {
    const predicate = value as (name: string) => boolean;
    return (name) => allowed(name) && predicate(name) === true;
  }
  if (!Array.isArray(value)) throw invalid('offload.keepHeaders', 'offload.keepHeaders must be an array of header names or a function (name) => boolean');
  const names = new Set<string>();
  for (const entry of value) {
    if (typeof entry !== 'string' || !isToken(entry)) {
      throw invalid('offload.keepHeaders', `offload.keepHeaders holds an invalid header name: ${JSON.stringify(entry)}`);
    }
    const name = entry.toLowerCase();
    if (!allowed(name)) {
      throw invalid('offload.keepHeaders', `offload.keepHeaders may not keep ${name}: it describes the handler's own body or connection, not the offloaded one`);
    }
    names.add(name);
  }
  return (name) => names.has(name);
}

/**
 * Whether `prefix` may be an X-Accel-Redirect prefix: a plain path that starts and ends with
 * '/', without whitespace or other controls, `?`, `#`, `%`, `\` or dot segments.
 */
export function isAccelPrefix(prefix: string): boolean {
  return prefix.startsWith('/') && prefix.endsWith('/') && isFieldValue(prefix) && !/[\s?#\\%]/.test(prefix) && !hasDotSegment(prefix);
}

/** Whether an http(s) URL without credentials, query or fragment may be an accel base: its path ends with '/' (the prefix is replaced by it). */
export function isAccelBase(base: URL): boolean {
  return base.pathname.endsWith('/');
}

/**
 * Validates offload rules now, throwing HANDOFF_INVALID_OPTIONS that names the option
 * (`err.option`), so a bad configuration fails at startup rather than on the first request.
 * The result is remembered for that object, as when it is passed to a call.
 */
export function validateOffloadRules(rules: OffloadRules): void {
  resolveOffloadRules(rules);
}

/**
 * Whether a path has a `.` or `..` segment as a WHATWG URL parser (undici's) sees one: split
 * on `/` and `\` (a separator in http URLs), any dot possibly percent-encoded (`%2e`, `.%2E`).
 */
export function hasDotSegment(value: string): boolean {
  return value.split(/[/\\]/).some((segment) => {
    const dots = segment.replace(/%2e/gi, '.');
    return dots === '.' || dots === '..';
  });
}
