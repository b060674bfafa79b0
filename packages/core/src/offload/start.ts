import type { Readable } from 'node:stream';
import { isProxyError, ProxyError } from '../errors';
import { keptHeaders, offloadRequest, readInstruction, readLimitRate, type Instruction } from './instruction';
import type { ResolvedOffloadRules } from './rules';

type Headers = Record<string, string | string[]>;
export type OffloadBody = string | Uint8Array | Readable;

/** The typed way to offload, without headers: `ctx.offload({ url, method, headers, body })`. */
export interface OffloadRequest {
  /** Absolute http(s) URL; checked against `offload.allow` like an Offload-Url. */
  url: string | URL;
  /** GET, HEAD or POST (any case); default GET, or POST when a body is given. */
  method?: string;
  /** Request headers for the target (Offload-X-* equivalents); CR/LF/NUL refused. */
  headers?: Record<string, string | string[] | undefined>;
  /** Sent as the target's request body (Offload-Forward-Body); needs POST. */
  body?: OffloadBody;
}

/**
 * A handler's response: its headers carry the instruction (or `request` gives it typed),
 * and the kept ones (`keepHeaders`) go on the final response. Its body is forwarded
 * (Offload-Forward-Body) or destroyed.
 */
export interface OffloadResponse {
  headers: Record<string, string | string[] | number | undefined>;
  body?: OffloadBody | null;
  /** The instruction, typed; instruction headers in `headers` are then ignored. */
  request?: OffloadRequest;
}

/** What a transfer starting from an instruction needs. */
export interface OffloadStart {
  instruction: Instruction;
  kept: Headers | undefined;
  rate: number | undefined;
  body: OffloadBody | undefined;
  /** Describe `body` for the target (content-type). */
  bodyHeaders: Headers;
}

export function isOffloadRequest(source: OffloadRequest | OffloadResponse): source is OffloadRequest {
  return (source as OffloadRequest).url !== undefined;
}

/**
 * Reads an instruction given without an upstream: a typed request or a handler's
 * response. The source's body is destroyed unless it is forwarded, whatever happens.
 * Bad instructions come back as a ProxyError for the transfer to answer with.
 */
export function readStart(source: OffloadRequest | OffloadResponse, rules: ResolvedOffloadRules): OffloadStart | ProxyError {
  const response = isOffloadRequest(source) ? undefined : source;
  const request = isOffloadRequest(source) ? source : source.request;
  const bodies = [response?.body, request?.body];
  try {
    const start = request ? fromRequest(request, rules, response?.headers) : fromResponse(response!, rules);
    for (const body of bodies) if (body !== start.body) discard(body);
    return start;
  } catch (err) {
    for (const body of bodies) discard(body);
    if (isProxyError(err)) return err;
    return new ProxyError('HANDOFF_OFFLOAD_INVALID', `Offload instruction could not be read (${String(err)})`, { cause: err });
  }
}

function fromRequest(request: OffloadRequest, rules: ResolvedOffloadRules, handlerHeaders?: OffloadResponse['headers']): OffloadStart {
  if (typeof request !== 'object' || request === null) throw new ProxyError('HANDOFF_INVALID_OPTIONS', 'offload() needs { url, method?, headers?, body? }');
  const body = request.body ?? undefined;
  if (body !== undefined && !isBody(body)) {
    throw new ProxyError('HANDOFF_OFFLOAD_INVALID', 'offload() body must be a string, a Buffer/Uint8Array or a Readable stream');
  }
  const headers = request.headers ?? {};
  if (typeof headers !== 'object') throw new ProxyError('HANDOFF_OFFLOAD_INVALID', 'offload() headers must be an object of name: value');
  const method = request.method ?? (body !== undefined ? 'POST' : undefined);
  const instruction = offloadRequest({ url: request.url, method, headers, forwardBody: body !== undefined }, rules, 'offload()');
  const handler = normalise(handlerHeaders);
  const rate = readLimitRate(handler, 'The handler');
  return { instruction, kept: keptHeaders(handler, rules), rate, body, bodyHeaders: {} };
}

function fromResponse(response: OffloadResponse, rules: ResolvedOffloadRules): OffloadStart {
  const headers = normalise(response.headers);
  const instruction = readInstruction(headers, rules, 'The handler');
  // proxy.offload() has checked there is one.
  if (!instruction) throw new ProxyError('HANDOFF_OFFLOAD_INVALID', 'The handler response carries no offload instruction');
  const rate = readLimitRate(headers, 'The handler');
  const forward = instruction.kind === 'url' && instruction.forwardBody;
  const body = forward ? (response.body ?? '') : undefined;
  if (body !== undefined && !isBody(body)) {
    throw new ProxyError('HANDOFF_OFFLOAD_INVALID', 'The handler body to forward must be a string, a Buffer/Uint8Array or a Readable stream');
  }
  const bodyHeaders: Headers = {};
  const type = headers['content-type'];
  if (forward && type !== undefined) bodyHeaders['content-type'] = type;
  return { instruction, kept: keptHeaders(headers, rules), rate, body, bodyHeaders };
}

function normalise(headers: OffloadResponse['headers'] | undefined): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}

function isBody(value: unknown): value is OffloadBody {
  return typeof value === 'string' || value instanceof Uint8Array || typeof (value as Readable)?.pipe === 'function';
}

/** Destroys a body that will not be sent (a Readable; strings and buffers need nothing). */
export function discard(body: unknown): void {
  const stream = body as Readable | undefined;
  if (stream && typeof stream.destroy === 'function' && typeof stream.pipe === 'function' && !stream.destroyed) {
    // A destroyed body must not report a stray error on its way out.
    stream.on('error', () => {});
    stream.destroy();
  }
}
