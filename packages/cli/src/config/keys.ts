/**
 * Every configuration key, once: its parser, default, and the environment variable
 * and flag derived from its name (`offload.sendfileRoots` → HANDOFF_OFFLOAD_SENDFILE_ROOTS,
 * --offload-sendfile-roots). `--help` and the README table are written from this list.
 */
import os from 'node:os';
import { DEFAULT_KEEP_HEADERS, isAccelBase, isAccelPrefix, isToken } from '@handoff/core';
import {
  address,
  boolean,
  choice,
  directory,
  duration,
  headerName,
  httpUrl,
  integer,
  list,
  nonEmpty,
  optionalAddress,
  origin,
  pairs,
  size,
  ConfigError,
  type Address,
} from './values';
import { GATE_KEYS, type GateConfig } from './gate-keys';
import type { KeyDef } from './key-def';
import { authorizeSuffix, uploadRoute, uploadSecret, type UploadRoute } from '../uploads/routes';

export interface SidecarConfig {
  listen: Address;
  /** null: no metrics/health listener. */
  metricsListen: Address | null;
  backend: URL;
  concurrency: number;
  maxQueue: number;
  queueTimeout: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  maxBodySize: number;
  rateLimit: number;
  retryAfter: number;
  xForwarded: 'set' | 'append' | false;
  shutdownTimeout: number;
  offload: {
    allow: string[];
    accel: Record<string, string>;
    sendfileRoots: string[];
    keepHeaders: string[];
    followRedirects: number;
  };
  gate: GateConfig;
  /** Requests answered 202 and delivered later through the queue. */
  async: AsyncRule[];
  queue: {
    database: string;
    dir: string;
    schema: string;
    deliver: boolean;
    concurrency: number;
    lease: number;
    pollInterval: number;
    maxAttempts: number;
    retryBase: number;
    retryMax: number;
    maxBodySize: number;
    targetConcurrency: number;
    targetRate: number;
  };
  uploads: {
    routes: UploadRoute[];
    secret: string;
    authorizeSuffix: string;
    tempDir: string;
    partConcurrency: number;
    storageTimeout: number;
  };
}

/** `POST /webhooks/`: requests with this method whose path starts with the prefix go through the queue. */
export interface AsyncRule {
  method: string;
  prefix: string;
}

function asyncRule(value: unknown): AsyncRule {
  const match = typeof value === 'string' ? /^([A-Za-z]+)\s+(\/\S*)$/.exec(value.trim()) : null;
  if (!match || !isToken(match[1]!)) throw new ConfigError(`must be a method and a path prefix, like "POST /webhooks/", got ${JSON.stringify(value)}`);
  return { method: match[1]!.toUpperCase(), prefix: match[2]! };
}

function databaseUrl(value: unknown): string {
  if (value === '' || value == null) return '';
  if (typeof value !== 'string' || !/^postgres(ql)?:\/\/\S+$/.test(value.trim())) {
    throw new ConfigError('must be a postgres:// or postgresql:// URL, or empty for the embedded store in queue.dir');
  }
  return value.trim();
}

function accelMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [prefix, target] of pairs(value)) {
    if (!isAccelPrefix(prefix)) {
      throw new ConfigError(`prefix must be a plain path that starts and ends with / (like /internal/), got ${JSON.stringify(prefix)}`);
    }
    let url: URL;
    try {
      url = httpUrl(target);
    } catch (err) {
      if (err instanceof ConfigError) err.message = `target for ${prefix} ${err.message}`;
      throw err;
    }
    if (!isAccelBase(url)) {
      throw new ConfigError(`target for ${prefix} must end with / (the prefix is replaced by its path), got ${JSON.stringify(target)}`);
    }
    out[prefix] = url.href;
  }
  return out;
}

export const KEYS: readonly KeyDef[] = [
  { key: 'listen', arg: 'host:port', fallback: '127.0.0.1:8080', help: 'address the proxy listens on (port 0: any free port)', parse: address },
  {
    key: 'metricsListen',
    arg: 'host:port|off',
    fallback: '127.0.0.1:9464',
    help: 'address for GET /metrics (Prometheus) and GET /healthz; off to disable',
    parse: optionalAddress,
  },
  { key: 'backend', arg: 'url', fallback: undefined, help: 'the backend every request is forwarded to (required), e.g. http://127.0.0.1:3000', parse: httpUrl },
  { key: 'concurrency', arg: 'n', fallback: '64', help: 'most transfers in flight at once', parse: (v) => integer(v, 1) },
  { key: 'maxQueue', arg: 'n', fallback: '256', help: 'most requests waiting for a slot; beyond it 503', parse: (v) => integer(v, 0) },
  { key: 'queueTimeout', arg: 'duration', fallback: '5s', help: 'longest wait for a slot before 503 (0: no limit)', parse: duration },
  { key: 'connectTimeout', arg: 'duration', fallback: '10s', help: 'to connect to the backend or an offload target', parse: duration },
  { key: 'headersTimeout', arg: 'duration', fallback: '60s', help: 'from sending a request to its complete response head (0: none)', parse: duration },
  { key: 'bodyTimeout', arg: 'duration', fallback: '60s', help: 'without body progress in either direction, upload or download (0: none)', parse: duration },
  { key: 'maxBodySize', arg: 'size', fallback: '10m', help: 'largest request body forwarded to the backend; beyond it 413 (0: no limit)', parse: size },
  { key: 'rateLimit', arg: 'size', fallback: '0', help: 'bytes per second for each response (0: unlimited)', parse: size },
  { key: 'retryAfter', arg: 'seconds', fallback: '1', help: 'Retry-After sent with every 503 the proxy produces', parse: (v) => integer(v, 0) },
  {
    key: 'xForwarded',
    arg: 'set|append|off',
    fallback: 'set',
    help: "X-Forwarded-For/-Proto/-Host: 'set' replaces the client's, 'append' extends a trusted chain",
    parse: (v) => {
      const mode = choice(v === false ? 'off' : v, ['set', 'append', 'off'] as const);
      return mode === 'off' ? false : mode;
    },
  },
  { key: 'shutdownTimeout', arg: 'duration', fallback: '30s', help: 'on SIGTERM/SIGINT, how long in-flight transfers may finish', parse: duration },
  {
    key: 'offload.allow',
    arg: 'origins',
    fallback: '',
    repeatable: true,
    help: 'origins Offload-Url may point to (default: none, every Offload-Url is refused with 403)',
    parse: (v) => list(v, origin),
  },
  {
    key: 'offload.accel',
    arg: 'prefix=url',
    fallback: '',
    repeatable: true,
    help: 'X-Accel-Redirect prefix → upstream base URL, like nginx internal locations',
    parse: accelMap,
  },
  {
    key: 'offload.sendfileRoots',
    arg: 'dirs',
    fallback: '',
    repeatable: true,
    help: 'directories X-Sendfile may serve files from (default: none)',
    parse: (v) => list(v, directory),
  },
  {
    key: 'offload.keepHeaders',
    arg: 'names',
    fallback: DEFAULT_KEEP_HEADERS.join(','),
    repeatable: true,
    help: "headers of the backend's response kept on an offloaded response (never content-length, content-encoding, content-range, etag, last-modified or hop-by-hop)",
    parse: (v) => list(v, headerName),
  },
  {
    key: 'offload.followRedirects',
    arg: 'n',
    fallback: '0',
    help: "redirects of an offload target to follow, each re-checked against the allow-list (0: relay them)",
    parse: (v) => integer(v, 0),
  },
  ...GATE_KEYS,
  {
    key: 'async',
    arg: 'rules',
    fallback: '',
    repeatable: true,
    help: 'requests answered 202 at once and delivered to the backend later through the queue: "METHOD /path-prefix" (e.g. "POST /webhooks/")',
    parse: (v) => list(v, asyncRule),
  },
  {
    key: 'queue.database',
    arg: 'url',
    fallback: '',
    help: 'PostgreSQL for the queue (postgres://…), shared by every sidecar and worker; empty: the embedded store in queue.dir (one process)',
    parse: databaseUrl,
  },
  { key: 'queue.dir', arg: 'dir', fallback: '.handoff-queue', help: 'directory of the embedded store (PGlite), when queue.database is empty', parse: nonEmpty },
  { key: 'queue.schema', arg: 'name', fallback: 'handoff', help: "PostgreSQL schema of the queue's tables (created if missing)", parse: nonEmpty },
  { key: 'queue.deliver', arg: 'true|false', fallback: 'true', help: 'deliver queued requests from this process (false: only `handoff worker` processes do)', parse: boolean },
  { key: 'queue.concurrency', arg: 'n', fallback: '16', help: 'deliveries in flight at once in one process', parse: (v) => integer(v, 1) },
  { key: 'queue.lease', arg: 'duration', fallback: '5s', help: "how long a claimed job is leased; a killed worker's jobs are delivered again after it", parse: duration },
  { key: 'queue.pollInterval', arg: 'duration', fallback: '250ms', help: 'between claims while nothing is due', parse: duration },
  { key: 'queue.maxAttempts', arg: 'n', fallback: '10', help: 'delivery attempts before a job goes to the dead letters', parse: (v) => integer(v, 1) },
  { key: 'queue.retryBase', arg: 'duration', fallback: '1s', help: 'first retry within this (full jitter), doubling per attempt', parse: duration },
  { key: 'queue.retryMax', arg: 'duration', fallback: '5m', help: 'longest wait between attempts', parse: duration },
  { key: 'queue.maxBodySize', arg: 'size', fallback: '1m', help: 'largest body stored for later delivery; beyond it 413', parse: size },
  { key: 'queue.targetConcurrency', arg: 'n', fallback: '8', help: 'deliveries in flight at once to one destination origin, per process', parse: (v) => integer(v, 1) },
  { key: 'queue.targetRate', arg: 'n', fallback: '0', help: 'delivery attempts per second to one destination origin, per process (0: no limit)', parse: (v) => integer(v, 0) },
  {
    key: 'uploads.routes',
    arg: 'routes',
    fallback: '',
    repeatable: true,
    help: 'upload routes, "METHOD /path-prefix" (like "PUT /uploads/"): bodies are stored where the backend\'s authorize answer says, then the request is forwarded with signed fields instead',
    parse: (v) => list(v, uploadRoute),
  },
  {
    key: 'uploads.secret',
    arg: 'secret',
    fallback: '',
    help: 'shared secret (32 characters or more) for the HS256 JWTs of Handoff-Upload-Authorization and Handoff-Upload-Fields; required with uploads.routes',
    parse: uploadSecret,
  },
  {
    key: 'uploads.authorizeSuffix',
    arg: 'path',
    fallback: '/authorize',
    help: "appended to an upload's path for the authorize request sent to the backend (POST, no body)",
    parse: authorizeSuffix,
  },
  {
    key: 'uploads.tempDir',
    arg: 'dir',
    fallback: '',
    help: 'where a file of unknown length bound for a single presigned PUT is buffered first (default: the OS temp directory)',
    parse: (v) => (v === '' ? os.tmpdir() : directory(v)),
  },
  { key: 'uploads.partConcurrency', arg: 'n', fallback: '4', help: 'S3 multipart parts uploaded at once, per upload', parse: (v) => integer(v, 1) },
  { key: 'uploads.storageTimeout', arg: 'duration', fallback: '60s', help: 'a storage request without progress this long fails the upload (502)', parse: duration },
];

/** `offload.sendfileRoots` → `HANDOFF_OFFLOAD_SENDFILE_ROOTS`. */
export function envName(key: string): string {
  return 'HANDOFF_' + key.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `offload.sendfileRoots` → `offload-sendfile-roots` (used as --offload-sendfile-roots). */
export function flagName(key: string): string {
  return key.replace(/\./g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Sections of the config file that hold keys of their own. */
export const SECTIONS: ReadonlySet<string> = new Set(KEYS.filter((k) => k.key.includes('.')).map((k) => k.key.split('.')[0]!));
