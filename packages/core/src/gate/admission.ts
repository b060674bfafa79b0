import { ProxyError } from '../errors';

/** A transfer waiting for a slot: `admit` runs when one is free, `reject` when it may no longer wait. */
export interface Waiter {
  admit(): void;
  reject(err: ProxyError): void;
  /** Names the request in error messages. */
  describe(): string;
}

/**
 * What a transfer needs of a concurrency gate: the in-process one (gate.ts) or the one
 * shared by a fleet through Redis (shared-gate.ts). Holders call `release()` exactly once.
 */
export interface ConcurrencyGate {
  readonly inFlight: number;
  readonly queued: number;
  /**
   * Admits at once (returns true), or takes the waiter and later calls its `admit` or
   * `reject` (returns false). A rejection may come synchronously (queue full).
   */
  enter(waiter: Waiter): boolean;
  /** Removes a waiter that no longer wants its turn (its client left); a late admission is given back by the gate. */
  leave(waiter: Waiter): boolean;
  release(): void;
  /** Rejects everyone still waiting (used when the proxy closes). */
  rejectAll(err: () => ProxyError): void;
  /** Gives back what the gate holds outside this process and closes the connections it opened. */
  close(): Promise<void>;
}

export function queueFull(maxQueue: number, waiter: Waiter): ProxyError {
  return new ProxyError('HANDOFF_QUEUE_FULL', `Proxy queue is full (${maxQueue} waiting): ${waiter.describe()}`);
}

export function queueTimedOut(queueTimeout: number, waiter: Waiter): ProxyError {
  return new ProxyError('HANDOFF_QUEUE_TIMEOUT', `Waited ${queueTimeout} ms for a proxy slot: ${waiter.describe()}`);
}
