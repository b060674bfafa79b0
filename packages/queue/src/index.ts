// The public surface of @handoff/queue.
export { HandoffQueue, createQueue } from './queue';
export type { EnqueueRequest } from './enqueue-input';
export { QUEUE_DEFAULTS, type QueueOptions, type TargetLimits } from './options';
export type { QueueEvent } from './events';
export type { DeadLetter, QueueDepth } from './store';
export { retryDelay, parseRetryAfter, verdict } from './backoff';
