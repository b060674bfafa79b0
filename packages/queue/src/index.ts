// The public surface of @handoff/queue.
export { HandoffQueue, createQueue, type EnqueueRequest } from './queue';
export { QUEUE_DEFAULTS, type QueueOptions, type TargetLimits } from './options';
export type { QueueEvent } from './events';
export type { DeadLetter, QueueDepth } from './store';
export { retryDelay, parseRetryAfter, verdict } from './backoff';
