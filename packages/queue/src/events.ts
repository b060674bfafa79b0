import type { ProxyError } from '@handoff/core';

/** What the queue reports through `onEvent`: counters and logs are built from these. */
export type QueueEvent =
  | { type: 'enqueued'; id: string }
  /** The target answered 2xx: `latencyMs` from the enqueue to that answer. */
  | { type: 'delivered'; id: string; attempts: number; status: number; latencyMs: number }
  | { type: 'retried'; id: string; attempts: number; status: number | undefined; error: string | undefined; delayMs: number }
  | { type: 'deadLettered'; id: string; attempts: number; status: number | undefined; error: string | undefined }
  /** The job's lease was lost before its outcome was written (another worker has it now): nothing was written. */
  | { type: 'fenced'; id: string }
  /** The store could not be reached or failed: once per outage, then `storeUp` once it answers again. */
  | { type: 'storeDown'; error: ProxyError }
  | { type: 'storeUp' };
