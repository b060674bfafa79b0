/**
 * Upload limits and targets, validated once where they enter (the middleware's options,
 * each authorize answer, each target a store gives), with messages saying what is
 * allowed. `0` is a value; defaults are applied with `??`.
 */
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS as PROXY_DEFAULTS, MAX_DELAY, ProxyError, isFieldValue, isToken } from '@handoff/core';
import type { UploadLimits, UploadTarget } from './types';

/** Every default, in one place. The upload's own rate and idle limits are the proxy's. */
export const UPLOAD_DEFAULTS = {
  bodyTimeout: PROXY_DEFAULTS.bodyTimeout,
  minDataRate: { request: PROXY_DEFAULTS.minDataRate.request, grace: PROXY_DEFAULTS.minDataRate.grace },
  maxFiles: 10,
  maxFields: 100,
  maxFieldSize: 64 * 1024,
  partConcurrency: 4,
  storageTimeout: 60_000,
};

/** Resolved limits: every field set, and itself valid limits (resolving it again changes nothing). */
export interface ResolvedLimits {
  maxSize: number;
  bodyTimeout: number;
  /** `request`: bytes per second, 0 for none; `grace`: ms before it applies. */
  minDataRate: { request: number; grace: number };
  maxFiles: number;
  maxFields: number;
  maxFieldSize: number;
  partConcurrency: number;
  storageTimeout: number;
  tempDir: string;
}

export type ResolvedTarget =
  | { kind: 'local'; dir: string }
  | { kind: 'put'; url: string; headers: Record<string, string>; id?: string; getUrl?: string; deleteUrl?: string }
  | {
      kind: 'multipart';
      partSize: number;
      partUrls: readonly string[];
      completeUrl: string;
      abortUrl: string;
      headers: Record<string, string>;
      id?: string;
      getUrl?: string;
      deleteUrl?: string;
    };

export function invalid(option: string, message: string): ProxyError {
  return new ProxyError('HANDOFF_INVALID_OPTIONS', message, { option });
}

function count(value: unknown, name: string, min: number, fallback?: number): number {
  if (value == null && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(name, `${name} must be an integer >= ${min}${fallback === undefined ? ' (required)' : ''}, got ${String(value)}`);
  }
  return value;
}

function ms(value: unknown, name: string, fallback: number): number {
  const n = count(value, name, 0, fallback);
  if (n > MAX_DELAY) throw invalid(name, `${name} must be at most ${MAX_DELAY} ms (about 24.8 days, the longest a Node timer waits), got ${n}`);
  return n;
}

/** Resolves `given` over `base` (the middleware's defaults under an authorize answer). */
export function resolveLimits(given: Partial<UploadLimits>, base?: ResolvedLimits): ResolvedLimits {
  if (typeof given !== 'object' || given === null) throw invalid('limits', 'upload limits must be an object with at least maxSize');
  const rates = given.minDataRate;
  let minRequestRate = base?.minDataRate.request ?? UPLOAD_DEFAULTS.minDataRate.request;
  let rateGrace = base?.minDataRate.grace ?? UPLOAD_DEFAULTS.minDataRate.grace;
  if (rates === false) minRequestRate = 0;
  else if (rates != null) {
    if (typeof rates !== 'object') throw invalid('minDataRate', 'minDataRate must be { request?, grace? } (bytes per second, ms) or false');
    minRequestRate = count(rates.request, 'minDataRate.request', 0, minRequestRate);
    rateGrace = ms(rates.grace, 'minDataRate.grace', rateGrace);
  }
  const tempDir = given.tempDir ?? base?.tempDir ?? os.tmpdir();
  if (typeof tempDir !== 'string' || !path.isAbsolute(tempDir)) throw invalid('tempDir', `tempDir must be an absolute directory path, got ${String(tempDir)}`);
  return {
    maxSize: count(given.maxSize, 'maxSize', 0, base?.maxSize),
    bodyTimeout: ms(given.bodyTimeout, 'bodyTimeout', base?.bodyTimeout ?? UPLOAD_DEFAULTS.bodyTimeout),
    minDataRate: { request: minRequestRate, grace: rateGrace },
    maxFiles: count(given.maxFiles, 'maxFiles', 1, base?.maxFiles ?? UPLOAD_DEFAULTS.maxFiles),
    maxFields: count(given.maxFields, 'maxFields', 0, base?.maxFields ?? UPLOAD_DEFAULTS.maxFields),
    maxFieldSize: count(given.maxFieldSize, 'maxFieldSize', 0, base?.maxFieldSize ?? UPLOAD_DEFAULTS.maxFieldSize),
    partConcurrency: count(given.partConcurrency, 'partConcurrency', 1, base?.partConcurrency ?? UPLOAD_DEFAULTS.partConcurrency),
    storageTimeout: ms(given.storageTimeout, 'storageTimeout', base?.storageTimeout ?? UPLOAD_DEFAULTS.storageTimeout),
    tempDir,
  };
}

function url(value: unknown, name: string): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw invalid(name, `${name} must be an absolute http(s) URL, got ${typeof value === 'string' ? JSON.stringify(value.split('?')[0]) : String(value)}`);
  }
  return parsed.href;
}

function optional(value: unknown, name: string): string | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'string') throw invalid(name, `${name} must be a string`);
  return value;
}

function headers(value: unknown, name: string): Record<string, string> {
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(name, `${name} must be an object of name: value`);
  const out: Record<string, string> = {};
  for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
    if (!isToken(field) || typeof v !== 'string' || !isFieldValue(v)) throw invalid(name, `${name} holds an invalid header: ${JSON.stringify(field)}`);
    const lower = field.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'host') throw invalid(name, `${name} may not set ${lower}: the proxy frames storage requests itself`);
    out[lower] = v;
  }
  return out;
}

/** Checks a target given by a store or an authorize answer; `where` prefixes option names (`authorize answer`). */
export function resolveTarget(target: UploadTarget, where = 'target'): ResolvedTarget {
  const t = target as { tempPath?: unknown; remote?: Record<string, unknown> };
  if (typeof t !== 'object' || t === null || (t.tempPath == null) === (t.remote == null)) {
    throw invalid(where, `${where} must be { tempPath } or { remote: { putUrl } | { multipart } }, exactly one of them`);
  }
  if (t.tempPath != null) {
    if (typeof t.tempPath !== 'string' || !path.isAbsolute(t.tempPath)) throw invalid(`${where}.tempPath`, `${where}.tempPath must be an absolute directory path`);
    return { kind: 'local', dir: t.tempPath };
  }
  const remote = t.remote!;
  if (typeof remote !== 'object' || (remote.putUrl == null) === (remote.multipart == null)) {
    throw invalid(`${where}.remote`, `${where}.remote must hold exactly one of putUrl and multipart`);
  }
  const common = {
    headers: headers(remote.headers, `${where}.remote.headers`),
    id: optional(remote.id, `${where}.remote.id`),
    getUrl: remote.getUrl == null ? undefined : url(remote.getUrl, `${where}.remote.getUrl`),
    deleteUrl: remote.deleteUrl == null ? undefined : url(remote.deleteUrl, `${where}.remote.deleteUrl`),
  };
  if (remote.putUrl != null) return { kind: 'put', url: url(remote.putUrl, `${where}.remote.putUrl`), ...common };
  const m = remote.multipart as Record<string, unknown>;
  const name = `${where}.remote.multipart`;
  if (typeof m !== 'object' || m === null) throw invalid(name, `${name} must be { partSize, partUrls, completeUrl, abortUrl }`);
  if (!Array.isArray(m.partUrls) || m.partUrls.length === 0 || m.partUrls.length > 10_000) {
    throw invalid(`${name}.partUrls`, `${name}.partUrls must be a list of 1 to 10000 URLs (S3's most parts)`);
  }
  return {
    kind: 'multipart',
    partSize: count(m.partSize, `${name}.partSize`, 1),
    partUrls: m.partUrls.map((u, i) => url(u, `${name}.partUrls[${i}]`)),
    completeUrl: url(m.completeUrl, `${name}.completeUrl`),
    abortUrl: url(m.abortUrl, `${name}.abortUrl`),
    ...common,
  };
}
