import { MAX_DELAY } from '../options/values';

/**
 * A deadline that is set and cleared far more often than it expires: a minimum data rate
 * arms one each time a client holds a transfer up, and a fast client clears it again
 * within the same loop turn, thousands of times a second on a large body. A timer per
 * wait would cost a timer list per distinct delay (Node keeps one per duration), so one
 * timer stays armed across waits: clearing only forgets the deadline, a later deadline
 * lets the pending timer fire early and re-arm for the rest, and only an earlier one
 * replaces it. `stop()` clears the timer for real.
 */
export class Deadline {
  /** performance.now() at which `onExpired` runs; -1 while cleared. */
  #at = -1;
  #timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires, in performance.now() time. */
  #fires = 0;

  constructor(private readonly onExpired: () => void) {}

  get armed(): boolean {
    return this.#at >= 0;
  }

  /** `onExpired` runs `ms` from now unless `clear()` or `stop()` comes first. */
  set(ms: number): void {
    const now = performance.now();
    this.#at = now + ms;
    if (this.#timer && this.#fires <= this.#at) return;
    clearTimeout(this.#timer);
    this.#arm(now);
  }

  clear(): void {
    this.#at = -1;
  }

  stop(): void {
    this.#at = -1;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  fired(): void {
    this.#timer = undefined;
    if (this.#at < 0) return;
    const now = performance.now();
    if (now < this.#at) return this.#arm(now);
    this.#at = -1;
    this.onExpired();
  }

  #arm(now: number): void {
    const ms = Math.min(MAX_DELAY, Math.max(1, Math.ceil(this.#at - now)));
    this.#fires = now + ms;
    this.#timer = setTimeout(fired, ms, this);
  }
}

function fired(deadline: Deadline): void {
  deadline.fired();
}
