import { ProxyError, isFieldValue, isHopByHop, isToken, type DeferredRequest } from '@handoff/core';
import { KEY_RULE, isIdempotencyKey } from './accept';

/** A request given to `queue.enqueue()` directly. */
export interface EnqueueRequest {
  /** Default POST; a token, not CONNECT. */
  method?: string;
  /** The target, an absolute http(s) URL. */
  url: string | URL;
  /**
   * Sent with every attempt. Hop-by-hop fields and Expect are dropped, Content-Length too
   * (it is refused when it does not match the body); an Idempotency-Key here is the job's key.
   */
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  /** 1 to 255 visible ASCII characters. Default: the job id. */
  idempotencyKey?: string;
}

/** What enqueue() stores, checked in full before it reaches a shared batch. */
export interface CheckedEnqueue {
  request: DeferredRequest;
  body: Buffer | undefined;
  key: string | undefined;
}

function invalid(option: string, message: string): ProxyError {
  return new ProxyError('HANDOFF_INVALID_OPTIONS', message, { option });
}

function target(value: unknown): URL {
  let url: URL;
  try {
    url = value instanceof URL ? value : new URL(String(value));
  } catch (cause) {
    throw new ProxyError('HANDOFF_INVALID_OPTIONS', `enqueue() url must be an absolute http(s) URL, got ${JSON.stringify(String(value))}`, { option: 'url', cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url', `enqueue() url must be http: or https:, got ${url.protocol}`);
  if (url.username || url.password) throw invalid('url', 'enqueue() url must not carry credentials; pass an authorization header instead');
  return url;
}

function method(value: unknown): string {
  if (value == null) return 'POST';
  const name = String(value);
  if (typeof value !== 'string' || !isToken(name)) throw invalid('method', `enqueue() method is not a valid HTTP method: ${JSON.stringify(name)}`);
  const upper = name.toUpperCase();
  if (upper === 'CONNECT') throw invalid('method', 'enqueue() method CONNECT cannot be delivered');
  return upper;
}

function body(value: unknown, maxBodySize: number): Buffer | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw invalid('body', 'enqueue() body must be a string or a Buffer/Uint8Array');
  const bytes = Buffer.from(value);
  if (bytes.length > maxBodySize) throw new ProxyError('HANDOFF_REQUEST_TOO_LARGE', `enqueue() body of ${bytes.length} bytes exceeds the queue's maxBodySize (${maxBodySize} bytes)`);
  return bytes;
}

/** The headers to store, lower-cased, and the Idempotency-Key among them (if any). */
function headers(value: unknown, bytes: Buffer | undefined): { headers: Record<string, string | string[]>; key: string | undefined } {
  const out: Record<string, string | string[]> = {};
  let key: string | undefined;
  if (value == null) return { headers: out, key };
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('headers', 'enqueue() headers must be an object of name: value');
  const entries = Object.entries(value as Record<string, unknown>).filter(([, raw]) => raw !== undefined);
  const dropped = new Set(['expect']);
  for (const [name, raw] of entries) {
    if (!isToken(name)) throw invalid('headers', `enqueue() headers holds an invalid header name: ${JSON.stringify(name)}`);
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      if (typeof v !== 'string' || !isFieldValue(v)) throw invalid('headers', `enqueue() header ${name} has an invalid value: ${JSON.stringify(v)}`);
      if (name.toLowerCase() === 'connection') for (const token of v.split(',')) dropped.add(token.trim().toLowerCase());
    }
  }
  for (const [name, raw] of entries) {
    const lower = name.toLowerCase();
    const values = raw as string | string[];
    if (lower === 'content-length') {
      const length = String(bytes?.length ?? 0);
      if ([values].flat().some((v) => v.trim() !== length)) throw invalid('headers', `enqueue() header content-length ${JSON.stringify(values)} does not match the body (${length} bytes)`);
    } else if (lower === 'idempotency-key') {
      if (Array.isArray(values) && values.length !== 1) throw invalid('headers', 'enqueue() header idempotency-key must be one value');
      key = [values].flat()[0]!.trim();
    } else if (!isHopByHop(lower) && !dropped.has(lower)) {
      out[lower] = values;
    }
  }
  return { headers: out, key };
}

/** Checks an enqueue() call in full (HANDOFF_INVALID_OPTIONS naming the field), so that no bad item ever reaches a batch shared with others. */
export function checkEnqueue(input: EnqueueRequest, maxBodySize: number): CheckedEnqueue {
  if (typeof input !== 'object' || input === null) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'enqueue() takes { url, method?, headers?, body?, idempotencyKey? }');
  const url = target(input.url);
  const verb = method(input.method);
  const bytes = body(input.body, maxBodySize);
  const fields = headers(input.headers, bytes);
  const given = input.idempotencyKey ?? undefined;
  if (given !== undefined && fields.key !== undefined && given !== fields.key) {
    throw invalid('idempotencyKey', `enqueue() idempotencyKey ${JSON.stringify(given)} and the idempotency-key header ${JSON.stringify(fields.key)} differ`);
  }
  const key = given ?? fields.key;
  if (key !== undefined && (typeof key !== 'string' || !isIdempotencyKey(key))) {
    throw invalid('idempotencyKey', `enqueue() idempotencyKey must be ${KEY_RULE}, got ${JSON.stringify(String(key).slice(0, 40))}${String(key).length > 40 ? '…' : ''}`);
  }
  const describe = `${verb} ${url.origin}${url.pathname}${url.search}`;
  const request: DeferredRequest = {
    method: verb,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    headers: fields.headers,
    body: undefined,
    maxBodySize: 0,
    bodyTimeout: 0,
    describe,
  };
  return { request, body: bytes, key };
}
