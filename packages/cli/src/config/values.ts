/**
 * Parsers for configuration values. Each takes what a source gave (a native value
 * from a file, or a string from the environment or a flag) and returns the typed
 * value, or throws a ConfigError saying what is allowed.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MAX_DELAY, isToken } from '@handoff/core';

/** A bad configuration value; `bin.ts` prints it on one line and exits with 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A host and port to listen on; port 0 picks a free port. */
export interface Address {
  host: string;
  port: number;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
}

function fail(message: string): never {
  throw new ConfigError(message);
}

export function integer(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    fail(`must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got ${show(value)}`);
  }
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

/** Milliseconds: an integer, or a string with a unit (`500ms`, `30s`, `2m`); at most what a Node timer can wait. */
export function duration(value: unknown): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = integer(value, 0);
  } else {
    const match = typeof value === 'string' ? /^(\d+)\s*(ms|s|m)?$/.exec(value.trim()) : null;
    if (!match) fail(`must be a duration in ms, or with a unit (500ms, 30s, 2m), got ${show(value)}`);
    ms = Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!;
  }
  if (!(ms <= MAX_DELAY)) fail(`must be at most ${MAX_DELAY} ms (about 24.8 days, the longest a Node timer waits), got ${show(value)}`);
  return ms;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Bytes: an integer, or a string with a binary unit (`512k`, `10MiB`, `1g`). */
export function size(value: unknown): number {
  if (typeof value === 'number') return integer(value, 0);
  const match = typeof value === 'string' ? /^(\d+)\s*([a-z]*)$/i.exec(value.trim()) : null;
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) fail(`must be a size in bytes, or with a unit (512k, 10m, 1g; powers of 1024), got ${show(value)}`);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes)) fail(`is too large, got ${show(value)}`);
  return bytes;
}

/** `host:port`, `[v6]:port` or a bare port (on 127.0.0.1). */
export function address(value: unknown): Address {
  if (typeof value === 'number') return { host: '127.0.0.1', port: integer(value, 0, 65_535) };
  if (typeof value !== 'string') fail(`must be host:port, got ${show(value)}`);
  const text = value.trim();
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!match) fail(`must be host:port (127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080) or a port, got ${show(value)}`);
  const host = match[1] || match[2] || '127.0.0.1';
  if (match[1] && net.isIPv6(host) === false) fail(`holds an invalid IPv6 address, got ${show(value)}`);
  if (!match[1] && !/^[A-Za-z0-9.-]+$/.test(host)) fail(`holds an invalid host, got ${show(value)}`);
  const port = Number(match[3]);
  if (port > 65_535) fail(`holds a port above 65535, got ${show(value)}`);
  return { host, port };
}

/** `off` (or `false`) turns a listener off. */
export function optionalAddress(value: unknown): Address | null {
  if (value === false || value === 'off' || value === 'false') return null;
  return address(value);
}

/** An absolute http(s) URL without credentials, query or fragment. */
export function httpUrl(value: unknown): URL {
  if (typeof value !== 'string') fail(`must be an http(s) URL, got ${show(value)}`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    fail(`must be an absolute http(s) URL, got ${show(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`must be http: or https:, got ${show(value)}`);
  if (url.username || url.password) fail('must not carry credentials (user:password@)');
  if (url.search || url.hash) fail(`must not carry a query or fragment, got ${show(value)}`);
  return url;
}

/** A bare origin (`https://files.internal`, `http://10.0.0.5:8080`). */
export function origin(value: unknown): string {
  const url = httpUrl(value);
  if (url.pathname !== '/') fail(`must be a bare origin like https://host:port, without a path, got ${show(value)}`);
  return url.origin;
}

/** An array (file) or a comma-separated string (environment, flag); flags may also repeat. */
export function list<T>(value: unknown, item: (v: unknown) => T): T[] {
  const items = typeof value === 'string' ? splitList(value) : Array.isArray(value) ? value : fail(`must be a list, got ${show(value)}`);
  return items.map((entry, i) => {
    try {
      return item(entry);
    } catch (err) {
      if (err instanceof ConfigError) err.message = `entry ${i + 1} ${err.message}`;
      throw err;
    }
  });
}

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A map (file), or `key=value` pairs separated by commas (environment, flag). */
export function pairs(value: unknown): Array<[string, unknown]> {
  if (typeof value === 'string') {
    return splitList(value).map((entry) => {
      const at = entry.indexOf('=');
      if (at <= 0) fail(`must be key=value pairs separated by commas, got ${show(entry)}`);
      return [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
    });
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return Object.entries(value);
  fail(`must be a map of key: value, got ${show(value)}`);
}

export function headerName(value: unknown): string {
  if (typeof value !== 'string' || !isToken(value)) fail(`must be a header name, got ${show(value)}`);
  return value.toLowerCase();
}

/** An existing directory, made absolute. */
export function directory(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') fail(`must be a directory path, got ${show(value)}`);
  const resolved = path.resolve(value.trim());
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch (err) {
    fail(`must be an existing directory; ${resolved}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!stat.isDirectory()) fail(`must be a directory, ${resolved} is not one`);
  return resolved;
}

export function choice<T extends string>(value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value.trim())) return value.trim() as T;
  fail(`must be one of ${allowed.join(', ')}, got ${show(value)}`);
}

export function boolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  fail(`must be true or false, got ${show(value)}`);
}

export function nonEmpty(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`must not be empty, got ${JSON.stringify(value)}`);
  return value.trim();
}
