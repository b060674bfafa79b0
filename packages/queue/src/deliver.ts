import { Agent, type Dispatcher } from 'undici';
import { toProxyError } from '@handoff/core';
import { parseRetryAfter, verdict } from './backoff';
import type { ResolvedQueueOptions } from './options';
import type { Job } from './store';

/** What one attempt came to: the target's status, or the error that kept it from answering. */
export interface Attempt {
  verdict: 'done' | 'retry' | 'dead';
  status: number | undefined;
  error: string | undefined;
  retryAfterMs: number | undefined;
}

/** The worker's dispatcher: the engine's conventions (its own Agent, connect and headers timeouts, an idle body timeout). */
export function deliveryAgent(options: ResolvedQueueOptions): Agent {
  return new Agent({
    connect: { timeout: options.connectTimeout },
    headersTimeout: options.headersTimeout,
    bodyTimeout: options.bodyTimeout,
  });
}

/**
 * Sends the job once, with `Idempotency-Key` (the client's, or the job id) so the target can
 * de-duplicate a redelivery, and reads the answer's body to the end (a pooled connection
 * must not be left half-read). 2xx is done; 408/425/429/5xx and failures to get an answer
 * are tried again; any other status never will succeed, and goes to the dead letters.
 * Once the head has arrived it is the answer: an abort (shutdown) or a failure while the
 * rest of the body is read changes nothing.
 */
export async function deliver(dispatcher: Dispatcher, job: Job, options: ResolvedQueueOptions, signal: AbortSignal): Promise<Attempt> {
  const target = `${job.method} ${job.origin}${job.path}`;
  if (options.allow && !options.allow.has(job.origin)) {
    return { verdict: 'dead', status: undefined, error: `HANDOFF_TARGET_FORBIDDEN: ${job.origin} is not in the queue's allow list: ${target}`, retryAfterMs: undefined };
  }
  try {
    const res = await dispatcher.request({
      origin: job.origin,
      path: job.path,
      method: job.method as Dispatcher.HttpMethod,
      headers: { ...withoutKey(job.headers), 'idempotency-key': job.key },
      body: job.body ?? null,
      signal,
    });
    // The head is the answer; a body cut afterwards does not change it (the connection is dropped).
    await res.body.dump({ limit: 1024 * 1024 }).catch(() => {});
    const retryAfter = res.statusCode === 429 || res.statusCode === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
    return { verdict: verdict(res.statusCode), status: res.statusCode, error: undefined, retryAfterMs: retryAfter };
  } catch (err) {
    const error = toProxyError(err, target, false);
    return { verdict: 'retry', status: undefined, error: `${error.code}: ${error.message}`, retryAfterMs: undefined };
  }
}

/** The stored headers without any Idempotency-Key of their own (any case): the job's key is sent once. */
function withoutKey(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'idempotency-key') out[name] = value;
  return out;
}
