/**
 * The rest of a response body that the client does not get, read on so that the cache
 * stores it whole: the stored response behind a `304` answered to a client's conditional
 * request after a revalidation, or an `onHeaders` that chose 204/304 for a response being
 * stored. Aborting it instead (as a bodiless answer does without a cache) discarded the
 * write, and the freshened or fetched entry with it.
 *
 * Bounded: at most `limit` bytes (a larger body would not be stored anyway) and at most
 * `idle` ms without a chunk (0: no bound, as the call's bodyTimeout says); past either,
 * `stop` aborts the upstream and the write is discarded. The client's response is already
 * complete, and the transfer's concurrency slot released, while this runs.
 */
export class BodyDrain {
  #left: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    limit: number,
    private readonly idle: number,
    private readonly stop: (why: string) => void,
  ) {
    this.#left = limit;
    this.#arm();
  }

  /** Counts a chunk read. */
  take(bytes: number): void {
    this.#left -= bytes;
    if (this.#left < 0) return this.#stop('larger than the cache stores');
    this.#timer?.refresh();
  }

  /** The body ended or failed: nothing more to bound. */
  done(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.idle <= 0) return;
    this.#timer = setTimeout(() => this.#stop(`no data for ${this.idle} ms`), this.idle);
    this.#timer.unref();
  }

  #stop(why: string): void {
    this.done();
    this.stop(why);
  }
}
