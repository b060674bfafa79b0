import { ProxyError, isProxyError } from '@handoff/core';
import type { QueueEvent } from './events';

/** The store's reachability as the queue last saw it: an outage is reported once, and its end once. */
export class StoreHealth {
  #down = false;
  #failures = 0;

  constructor(
    private readonly report: (event: QueueEvent) => void,
    private readonly pollInterval: number,
  ) {}

  get healthy(): boolean {
    return !this.#down;
  }

  up(): void {
    this.#failures = 0;
    if (!this.#down) return;
    this.#down = false;
    this.report({ type: 'storeUp' });
  }

  /** Records a failure; returns it as a ProxyError (HANDOFF_STORE_UNAVAILABLE, the cause kept). */
  down(err: unknown): ProxyError {
    const error = storeError(err);
    this.#failures++;
    if (!this.#down) {
      this.#down = true;
      this.report({ type: 'storeDown', error });
    }
    return error;
  }

  /** How long to wait before trying again: doubling from the poll interval, at most 5 s. */
  backoff(): number {
    return Math.min(5_000, this.pollInterval * 2 ** Math.min(this.#failures, 10));
  }
}

export function storeError(err: unknown): ProxyError {
  if (isProxyError(err)) return err;
  const reason = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || err.name : String(err);
  return new ProxyError('HANDOFF_STORE_UNAVAILABLE', `Queue store unavailable (${reason})`, { cause: err });
}
