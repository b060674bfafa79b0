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

/**
 * `onEvent` as the queue calls it: a listener that throws (or returns a promise that
 * rejects) is reported through process.emitWarning, once per throw, and changes nothing the
 * queue does; an event is a report, never a step of the work.
 */
export function safeListener(listener: ((event: QueueEvent) => void) | undefined): (event: QueueEvent) => void {
  if (!listener) return () => {};
  const warn = (event: QueueEvent, err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err);
    process.emitWarning(`@handoff/queue: onEvent threw on '${event.type}' (${reason}); the queue carried on`, {
      type: 'HandoffQueueWarning',
      code: 'HANDOFF_ON_EVENT_THREW',
      detail: err instanceof Error ? err.stack : undefined,
    });
  };
  return (event) => {
    try {
      const result: unknown = listener(event);
      if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(undefined, (err: unknown) => warn(event, err));
    } catch (err) {
      warn(event, err);
    }
  };
}
