import type { Readable } from 'node:stream';
import { ProxyError } from '@handoff/core';
import { Agent, request, type Dispatcher } from 'undici';

let shared: Agent | undefined;

/** The Agent storage requests go through unless the caller gives a dispatcher. */
export function defaultDispatcher(): Dispatcher {
  return (shared ??= new Agent({ keepAliveTimeout: 10_000 }));
}

/** `PUT http://host/bucket/key`: the query is cut, it carries the URL's signature. */
export function describeStorage(method: string, url: string): string {
  const parsed = new URL(url);
  return `${method} ${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
}

export interface StorageAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface StorageCall {
  method: 'PUT' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable | Iterable<Buffer> | AsyncIterable<Buffer>;
  signal?: AbortSignal;
  timeout: number;
  dispatcher: Dispatcher;
}

const MAX_ANSWER = 64 * 1024;

/**
 * One request to object storage. A 2xx resolves with the answer's head and (small) text; a
 * failure rejects with HANDOFF_STORAGE_UNAVAILABLE (a 5xx: the store is busy or failing) or
 * HANDOFF_STORAGE_ERROR (unreachable, timed out, or a 4xx such as a refused signature),
 * naming S3's error code when the answer has one.
 */
export async function storageRequest(call: StorageCall): Promise<StorageAnswer> {
  const what = describeStorage(call.method, call.url);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body as Dispatcher.DispatchOptions['body'],
      signal: call.signal,
      dispatcher: call.dispatcher,
      headersTimeout: call.timeout,
      bodyTimeout: call.timeout,
    });
  } catch (err) {
    if (call.signal?.aborted) throw call.signal.reason;
    const code = (err as { code?: string }).code ?? (err as Error).name;
    throw new ProxyError('HANDOFF_STORAGE_ERROR', `Storage request failed (${code}): ${what}`, { cause: err });
  }
  let text = '';
  try {
    for await (const chunk of res.body) {
      if (text.length < MAX_ANSWER) text += (chunk as Buffer).toString('utf8');
    }
  } catch (err) {
    throw new ProxyError('HANDOFF_STORAGE_ERROR', `Storage answer cut (${(err as { code?: string }).code ?? 'error'}): ${what}`, { cause: err });
  }
  const s3Code = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1];
  if (res.statusCode >= 200 && res.statusCode < 300) {
    // CompleteMultipartUpload can answer 200 and still fail: the error is in the body.
    if (/<Error>/.test(text)) throw new ProxyError('HANDOFF_STORAGE_UNAVAILABLE', `Storage answered ${res.statusCode} with an error (${s3Code ?? 'unknown'}): ${what}`);
    return { status: res.statusCode, headers: res.headers, text };
  }
  const reason = `${res.statusCode}${s3Code ? ` ${s3Code}` : ''}`;
  const code = res.statusCode >= 500 ? 'HANDOFF_STORAGE_UNAVAILABLE' : 'HANDOFF_STORAGE_ERROR';
  throw new ProxyError(code, `Storage refused the request (${reason}): ${what}`);
}

/** The ETag's hex MD5, when it is one (a single PUT without SSE-KMS); undefined otherwise. */
export function etagMd5(etag: unknown): string | undefined {
  const match = typeof etag === 'string' ? /^"?([0-9a-f]{32})"?$/i.exec(etag.trim()) : null;
  return match ? match[1]!.toLowerCase() : undefined;
}
