import { replayable, type UpstreamBody } from './request-body';

/** Safe to send twice (RFC 9110 §9.2.2); other methods only with an Idempotency-Key. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** A reset before any response byte: the stale keep-alive connection race. */
const RETRYABLE = new Set(['ECONNRESET', 'UND_ERR_SOCKET']);

/** A reset before any response may be retried once (`attempts` made so far), when sending twice is safe. */
export function retryable(
  err: Error,
  attempts: number,
  method: string,
  headers: Record<string, string | string[]> | undefined,
  body: UpstreamBody | undefined,
): boolean {
  const code = (err as { code?: string }).code;
  if (attempts > 1 || !code || !RETRYABLE.has(code)) return false;
  if (!IDEMPOTENT.has(method) && headers?.['idempotency-key'] === undefined) return false;
  return replayable(body);
}
