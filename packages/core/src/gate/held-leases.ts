import type { LeaseStore } from './lease-store';

/**
 * The leases of a shared gate's running transfers, oldest first. Those admitted while
 * Redis was down are untaken: Redis knows of them only once a renewal has taken them.
 */
export class HeldLeases {
  readonly #held = new Set<string>();
  readonly #untaken = new Set<string>();
  #expired = 0;

  get size(): number {
    return this.#held.size;
  }

  /** Leases Redis knows of. */
  get taken(): number {
    return this.#held.size - this.#untaken.size;
  }

  /** Leases a renewal found gone while their transfer still ran. */
  get expired(): number {
    return this.#expired;
  }

  all(): string[] {
    return [...this.#held];
  }

  add(id: string): void {
    this.#held.add(id);
  }

  addUntaken(id: string): void {
    this.#held.add(id);
    this.#untaken.add(id);
  }

  /** Removes the oldest lease and returns its id. */
  removeOldest(): string {
    const oldest = this.#held.values().next();
    if (oldest.done) throw new Error('handoff gate released more often than entered');
    const id = oldest.value;
    this.#held.delete(id);
    this.#untaken.delete(id);
    return id;
  }

  /** Renews every lease; those found gone count as expired (unless never taken). */
  async renew(store: LeaseStore, leaseTtl: number): Promise<void> {
    const ids = [...this.#held];
    const untaken = new Set(this.#untaken);
    const restored = await store.renew(leaseTtl, ids);
    for (const id of restored) if (!untaken.has(id) && this.#held.has(id)) this.#expired++;
    for (const id of ids) this.#untaken.delete(id);
  }
}
