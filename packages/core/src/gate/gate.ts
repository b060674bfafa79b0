import type { ProxyError } from '../errors';
import { queueFull, queueTimedOut, type ConcurrencyGate, type Waiter } from './admission';

interface Entry {
  waiter: Waiter;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A counting semaphore with a bounded FIFO queue and a bounded wait.
 * Holders must call `release()` exactly once; the Transfer guards that.
 */
export class Gate implements ConcurrencyGate {
  #inFlight = 0;
  #queue = new Map<Waiter, Entry>();

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
    readonly queueTimeout: number,
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.size;
  }

  /**
   * Admits at once (returns true) when a slot is free and nobody waits,
   * otherwise queues the waiter, or rejects it when the queue is full.
   */
  enter(waiter: Waiter): boolean {
    if (this.#inFlight < this.concurrency && this.#queue.size === 0) {
      this.#inFlight++;
      return true;
    }
    if (this.#queue.size >= this.maxQueue) {
      waiter.reject(queueFull(this.maxQueue, waiter));
      return false;
    }
    const entry: Entry = { waiter, timer: undefined };
    if (this.queueTimeout > 0) {
      entry.timer = setTimeout(() => {
        this.#queue.delete(waiter);
        waiter.reject(queueTimedOut(this.queueTimeout, waiter));
      }, this.queueTimeout);
    }
    this.#queue.set(waiter, entry);
    return false;
  }

  /** Removes a waiter that no longer wants its turn (its client left). */
  leave(waiter: Waiter): boolean {
    const entry = this.#queue.get(waiter);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.#queue.delete(waiter);
    return true;
  }

  release(): void {
    if (this.#inFlight <= 0) throw new Error('handoff gate released more often than entered');
    const next = this.#queue.values().next();
    if (next.done) {
      this.#inFlight--;
      return;
    }
    // The slot passes straight to the next waiter, so inFlight stays the same.
    const entry = next.value;
    clearTimeout(entry.timer);
    this.#queue.delete(entry.waiter);
    entry.waiter.admit();
  }

  /** Rejects everyone still waiting (used when the proxy closes). */
  rejectAll(err: () => ProxyError): void {
    for (const entry of [...this.#queue.values()]) {
      clearTimeout(entry.timer);
      this.#queue.delete(entry.waiter);
      entry.waiter.reject(err());
    }
  }

  /** Nothing is held outside this process. */
  async close(): Promise<void> {}
}
