import { UNSOLICITED } from '../errors';
import { replayable } from './request-body';
import type { UpstreamRequest } from './request';

/** Safe to send twice (RFC 9110 §9.2.2); other methods only with an Idempotency-Key. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** A reset before any response byte: the stale keep-alive connection race. */
const RETRYABLE = new Set(['ECONNRESET', 'UND_ERR_SOCKET']);

/**
 * Whether a failure before any response head may be sent again, once (`attempts` made so
 * far): a reset, for a request that is safe to repeat and whose body can be sent again.
 * Never after a head was received (undici's RetryHandler refuses that too).
 */
export function retryable(err: Error, attempts: number, request: UpstreamRequest): boolean {
  const code = (err as { code?: string }).code;
  if (attempts > 1 || !code || !RETRYABLE.has(code)) return false;
  // A response nothing asked for (an unsolicited 101) is not the stale-connection race.
  if (UNSOLICITED.has(err.message)) return false;
  if (!IDEMPOTENT.has(request.method) && request.headers['idempotency-key'] === undefined) return false;
  return replayable(request.body);
}
