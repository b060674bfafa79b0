interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(err: unknown): void;
}

/**
 * Group commit: items added while `parallel` batches are already running wait and go
 * together in the next one (up to `maxItems` and about `maxBytes`), so under load one
 * statement and one commit carry many items, and an idle queue adds no delay at all.
 */
export class Batcher<T, R> {
  #pending: Array<Pending<T, R>> = [];
  #running = 0;

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly parallel: number,
    private readonly maxItems: number,
    private readonly maxBytes: number,
    private readonly size: (item: T) => number,
  ) {}

  /** Settles with this item's result, or with the error of the batch it went in. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#flush();
    });
  }

  /** Items waiting or in a running batch. */
  get busy(): boolean {
    return this.#running > 0 || this.#pending.length > 0;
  }

  #flush(): void {
    while (this.#running < this.parallel && this.#pending.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.#pending.length && count < this.maxItems) {
        bytes += this.size(this.#pending[count]!.item);
        count++;
        if (bytes >= this.maxBytes) break;
      }
      const batch = this.#pending.splice(0, count);
      this.#running++;
      this.run(batch.map((p) => p.item)).then(
        (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      ).finally(() => {
        this.#running--;
        this.#flush();
      });
    }
  }
}
