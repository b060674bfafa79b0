/**
 * Every configuration key, once: its parser, default, and the environment variable
 * and flag derived from its name (`offload.sendfileRoots` → HANDOFF_OFFLOAD_SENDFILE_ROOTS,
 * --offload-sendfile-roots). `--help` and the README table are written from this list.
 */
import os from 'node:os';
import { DEFAULT_KEEP_HEADERS, isAccelBase, isAccelPrefix } from '@handoff/core';
import {
  address,
  choice,
  directory,
  duration,
  headerName,
  httpUrl,
  integer,
  list,
  optionalAddress,
  origin,
  pairs,
  size,
  ConfigError,
  type Address,
} from './values';
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
  uploads: {
    routes: UploadRoute[];
    secret: string;
    authorizeSuffix: string;
    tempDir: string;
    partConcurrency: number;
    storageTimeout: number;
  };
}

export interface KeyDef {
  /** Dotted path in the config file. */
  key: string;
  /** Placeholder shown in --help. */
  arg: string;
  /** Default as written in the environment; undefined means required. */
  fallback: string | undefined;
  help: string;
  /** Lists and maps: a flag may be repeated, and every form also takes comma-separated values. */
  repeatable?: boolean;
  parse(value: unknown): unknown;
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
