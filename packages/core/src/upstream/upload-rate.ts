import { Deadline } from '../relay/deadline';

/**
 * Kestrel's minimum request body data rate: once `grace` ms of waiting for the client have
 * passed, it must have sent at least `rate` bytes per second of that waiting. Only time the
 * proxy spends waiting for the client counts: while the upstream is not reading the body,
 * the client is not the slow one. Each wait sets a deadline for the moment the client
 * would fall below the rate (relay/deadline.ts: one timer across waits).
 */
export class UploadRate {
  #bytes = 0;
  #waited = 0;
  #since = -1;
  readonly #deadline = new Deadline(() => this.timedOut());

  constructor(
    private readonly rate: number,
    private readonly grace: number,
    private readonly onTooSlow: () => void,
  ) {}

  /** From now on the proxy waits for the client's next bytes. */
  waiting(): void {
    if (this.#since >= 0) return;
    this.#since = performance.now();
    const left = (this.#bytes * 1000) / this.rate + this.grace - this.#waited;
    this.#deadline.set(left);
  }

  /** `bytes` arrived: the wait (if any) is over. */
  received(bytes: number): void {
    this.#stopWaiting();
    this.#bytes += bytes;
  }

  stop(): void {
    this.#stopWaiting();
    this.#deadline.stop();
  }

  /** `1200 bytes in 5004 ms of waiting`, for messages. */
  describe(): string {
    return `${this.#bytes} bytes in ${Math.round(this.#waited)} ms of waiting`;
  }

  timedOut(): void {
    if (this.#since < 0) return;
    this.#stopWaiting();
    this.onTooSlow();
  }

  #stopWaiting(): void {
    if (this.#since < 0) return;
    this.#waited += performance.now() - this.#since;
    this.#since = -1;
    this.#deadline.clear();
  }
}
