import path from 'node:path';
import { ProxyError, describeTarget } from '../errors';
import { isHopByHop, isOffloadHeader } from '../http/fields';
import { isFieldValue, isToken } from '../http/syntax';
import { hasDotSegment, type ResolvedOffloadRules, type SendfileRoot } from './rules';

type Headers = Record<string, string | string[]>;

export type Instruction =
  | { kind: 'url'; url: URL; method: string; headers: Headers; forwardBody: boolean }
  | { kind: 'accel'; url: URL }
  | { kind: 'sendfile'; path: string; root: SendfileRoot };

/** Methods `Offload-Method` may name (offloader's set). */
const METHODS = new Set(['GET', 'HEAD', 'POST']);
/** Fields an `Offload-X-*` header may not set: the proxy frames the request and names the host itself. */
const NOT_SETTABLE = new Set(['host', 'content-length', 'expect']);
const MAX_QUOTED = 200;

/** Removes every instruction header from `headers` (lower-case names). */
export function stripOffloadHeaders(headers: Record<string, unknown>): void {
  for (const name in headers) if (isOffloadHeader(name)) delete headers[name];
}

/** Whether a head (any name case) asks for an offload: `Offload-Requested`, `X-Accel-Redirect` or `X-Sendfile`. */
export function hasOffloadInstruction(headers: Record<string, unknown>): boolean {
  for (const name in headers) {
    if (headers[name] === undefined) continue;
    const lower = name.toLowerCase();
    if (lower === 'offload-requested' || lower === 'x-accel-redirect' || lower === 'x-sendfile') return true;
  }
  return false;
}

function bad(message: string): ProxyError {
  return new ProxyError('HANDOFF_OFFLOAD_INVALID', message);
}

function forbidden(message: string): ProxyError {
  return new ProxyError('HANDOFF_OFFLOAD_FORBIDDEN', message);
}

function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

/** The single value of an instruction header, or undefined; repeated ones are refused. */
function single(headers: Headers, name: string, where: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length !== 1) throw bad(`${where} sent ${name} ${value.length} times`);
    return value[0];
  }
  return value;
}

/**
 * Reads the instruction in a response head (lower-case names), or null when there is
 * none. Throws a ProxyError naming what is wrong; `where` names the response's source.
 */
export function readInstruction(headers: Headers, rules: ResolvedOffloadRules, where: string): Instruction | null {
  const requested = headers['offload-requested'] !== undefined;
  const accel = single(headers, 'x-accel-redirect', where);
  const sendfile = single(headers, 'x-sendfile', where);
  const asked = [requested && 'Offload-Requested', accel !== undefined && 'X-Accel-Redirect', sendfile !== undefined && 'X-Sendfile'].filter(
    Boolean,
  );
  if (asked.length === 0) return null;
  if (asked.length > 1) throw bad(`${where} sent conflicting offload instructions: ${asked.join(' and ')}`);
  if (requested) return urlInstruction(headers, rules, where);
  if (accel !== undefined) return accelInstruction(accel, rules, where);
  return sendfileInstruction(sendfile!, rules, where);
}

function urlInstruction(headers: Headers, rules: ResolvedOffloadRules, where: string): Instruction {
  const raw = single(headers, 'offload-url', where);
  if (raw === undefined || raw.trim() === '') throw bad(`${where} sent Offload-Requested without an Offload-Url`);
  const methodValue = single(headers, 'offload-method', where);
  const forwardBody = headers['offload-forward-body'] !== undefined;
  const extra: Headers = {};
  for (const name in headers) {
    if (!name.startsWith('offload-x-')) continue;
    extra[targetHeaderName(name.slice('offload-x-'.length), where)] = headers[name]!;
  }
  return offloadRequest({ url: raw.trim(), method: methodValue, headers: extra, forwardBody }, rules, where);
}

/** Validates a typed or header-borne Offload-Url request: URL, allow-list, method, headers. */
export function offloadRequest(
  request: { url: string | URL; method: string | undefined; headers: Record<string, unknown>; forwardBody: boolean },
  rules: ResolvedOffloadRules,
  where: string,
): Instruction {
  const url = offloadUrl(request.url, where);
  const method = offloadMethod(request.method, where);
  if (request.forwardBody && method !== 'POST') {
    throw bad(`${where} asked to forward its body with Offload-Method ${method}; a body needs POST`);
  }
  const headers: Headers = {};
  for (const [rawName, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const name = targetHeaderName(rawName, where);
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v !== 'string' || !isFieldValue(v)) {
        throw bad(`${where} gave upstream header ${name} an invalid value (CR, LF, NUL or not text): ${quote(String(v))}`);
      }
    }
    headers[name] = value as string | string[];
  }
  if (!rules.allow) {
    throw new ProxyError(
      'HANDOFF_TARGET_FORBIDDEN',
      `Offload-Url targets are not allowed (offload.allow is not set): ${describeTarget(method, url)}`,
    );
  }
  try {
    rules.allow.check(url, describeTarget(method, url));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ProxyError('HANDOFF_TARGET_FORBIDDEN', `Offload-Url refused by offload.allow (${reason})`, { cause });
  }
  return { kind: 'url', url, method, headers, forwardBody: request.forwardBody };
}

function offloadUrl(value: string | URL, where: string): URL {
  let url: URL;
  if (value instanceof URL) {
    url = new URL(value.href);
  } else {
    if (!isFieldValue(value)) throw bad(`${where} sent an Offload-Url with control characters`);
    try {
      url = new URL(value);
    } catch {
      throw bad(`${where} sent an Offload-Url that is not an absolute URL: ${quote(value)}`);
    }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad(`${where} sent an Offload-Url with scheme ${url.protocol}; only http: and https: are allowed`);
  }
  // Not echoed: the value carries credentials.
  if (url.username || url.password) throw bad(`${where} sent an Offload-Url carrying credentials; pass an Authorization header instead`);
  url.hash = '';
  return url;
}

function offloadMethod(value: string | undefined, where: string): string {
  if (value === undefined) return 'GET';
  const method = value.trim().toUpperCase();
  if (!METHODS.has(method)) throw bad(`${where} sent Offload-Method ${quote(value)}; allowed: GET, HEAD, POST`);
  return method;
}

function targetHeaderName(raw: string, where: string): string {
  const name = raw.toLowerCase();
  if (!isToken(name)) throw bad(`${where} named an invalid upstream header: ${quote(raw)}`);
  if (NOT_SETTABLE.has(name) || isHopByHop(name) || isOffloadHeader(name)) {
    throw bad(`${where} may not set the upstream header ${name}: the proxy sets it, or it belongs to one connection`);
  }
  return name;
}

function accelInstruction(value: string, rules: ResolvedOffloadRules, where: string): Instruction {
  if (rules.accel.length === 0) throw bad(`${where} sent X-Accel-Redirect, but no offload.accel prefixes are configured`);
  if (!value.startsWith('/') || !isFieldValue(value)) throw bad(`${where} sent X-Accel-Redirect ${quote(value)}; it must be a path starting with '/'`);
  const cut = value.search(/[?#]/);
  const rawPath = cut === -1 ? value : value.slice(0, cut);
  const query = cut !== -1 && value[cut] === '?' ? value.slice(cut).replace(/#.*$/, '') : '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw bad(`${where} sent X-Accel-Redirect with invalid percent-encoding: ${quote(value)}`);
  }
  if (rawPath.includes('\\') || decoded.includes('\\') || decoded.includes('\0') || hasDotSegment(decoded) || rawPath.startsWith('//')) {
    throw forbidden(`${where} sent X-Accel-Redirect ${quote(value)}, which tries to leave its location (dot segments, backslashes or NUL)`);
  }
  const route = rules.accel.find((r) => rawPath.startsWith(r.prefix));
  if (!route) throw bad(`${where} sent X-Accel-Redirect ${quote(value)}, which matches no offload.accel prefix`);
  const url = new URL(route.base.href + rawPath.slice(route.prefix.length) + query);
  if (url.origin !== route.base.origin || !url.pathname.startsWith(route.base.pathname)) {
    throw forbidden(`${where} sent X-Accel-Redirect ${quote(value)}, which leaves ${route.base.href}`);
  }
  return { kind: 'accel', url };
}

function sendfileInstruction(value: string, rules: ResolvedOffloadRules, where: string): Instruction {
  if (rules.roots.length === 0) throw bad(`${where} sent X-Sendfile, but no offload.sendfileRoots are configured`);
  if (!isFieldValue(value) || value.includes('\0')) throw forbidden(`${where} sent X-Sendfile with control characters`);
  if (!path.isAbsolute(value)) throw bad(`${where} sent X-Sendfile ${quote(value)}; it must be an absolute path`);
  if (hasDotSegment(value)) throw forbidden(`${where} sent X-Sendfile ${quote(value)} with '.' or '..' segments`);
  const normal = path.normalize(value);
  const root = rules.roots.find((r) => normal.startsWith(r.path + path.sep));
  if (!root) throw forbidden(`${where} sent X-Sendfile ${quote(value)}, which is outside every offload.sendfileRoots entry`);
  return { kind: 'sendfile', path: normal, root };
}

/** `X-Accel-Limit-Rate` in bytes per second (`0` or `off`: no limit), or undefined when absent. */
export function readLimitRate(headers: Headers, where: string): number | undefined {
  const value = single(headers, 'x-accel-limit-rate', where);
  if (value === undefined) return undefined;
  const text = value.trim().toLowerCase();
  if (text === 'off') return 0;
  const rate = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(rate)) throw bad(`${where} sent X-Accel-Limit-Rate ${quote(value)}; it must be bytes per second or 'off'`);
  return rate;
}

/** The headers of the instruction's own response that the rules keep on the final response. */
export function keptHeaders(headers: Headers, rules: ResolvedOffloadRules): Headers | undefined {
  let kept: Headers | undefined;
  for (const name in headers) {
    if (isOffloadHeader(name) || !rules.keep(name)) continue;
    (kept ??= {})[name] = headers[name]!;
  }
  return kept;
}

/**
 * Puts the kept headers on the final head: they win over the target's, except
 * `Vary`, whose tokens are merged, since both responses' negotiations still apply.
 */
export function applyKeptHeaders(into: Headers, kept: Headers | undefined): void {
  if (!kept) return;
  for (const name in kept) {
    const value = kept[name]!;
    const prior = into[name];
    if (name === 'vary' && prior !== undefined) {
      const tokens = new Map<string, string>();
      for (const part of [prior, value].flat().join(',').split(',')) {
        const token = part.trim();
        if (token) tokens.set(token.toLowerCase(), token);
      }
      into[name] = [...tokens.values()].join(', ');
    } else {
      into[name] = value;
    }
  }
}
