import type { ProxyError } from '../errors';
import type { Offload } from '../offload/performer';
import type { ProxyOutcome } from '../types';

/** The outcome of a settled transfer: what the client was sent, how long it took, why it failed. */
export function outcomeOf(
  status: number,
  bytes: number,
  started: number,
  error: ProxyError | undefined,
  headersMs: number | undefined,
  offload: Offload | undefined,
): ProxyOutcome {
  const outcome: ProxyOutcome = { status, bytes, durationMs: performance.now() - started };
  if (error) outcome.error = error;
  if (headersMs !== undefined) outcome.headersMs = headersMs;
  if (offload) {
    outcome.offload = offload.kind;
    outcome.instructionMs = offload.instructionMs;
  }
  return outcome;
}
