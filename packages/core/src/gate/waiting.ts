import type { Waiter } from './admission';

/** A waiter of the shared gate, with its ticket. */
export interface Entry {
  waiter: Waiter;
  /** Its ticket in the fleet's queue, and its lease's id once admitted. */
  id: string;
  timer: NodeJS.Timeout | undefined;
  /** Whether the ticket went to Redis: leaving then withdraws it there. */
  sent: boolean;
}

/** This instance's waiters in arrival order, found by waiter (leave) and by ticket (Redis's answers). */
export class Waiting {
  readonly #byWaiter = new Map<Waiter, Entry>();
  readonly #byId = new Map<string, Entry>();

  get size(): number {
    return this.#byWaiter.size;
  }

  add(entry: Entry): void {
    this.#byWaiter.set(entry.waiter, entry);
    this.#byId.set(entry.id, entry);
  }

  of(waiter: Waiter): Entry | undefined {
    return this.#byWaiter.get(waiter);
  }

  byId(id: string): Entry | undefined {
    return this.#byId.get(id);
  }

  first(): Entry | undefined {
    return this.#byWaiter.values().next().value;
  }

  /** A copy, oldest first. */
  all(): Entry[] {
    return [...this.#byWaiter.values()];
  }

  /** Takes the entry out and stops its timer; false if it was no longer waiting. */
  remove(entry: Entry): boolean {
    if (this.#byWaiter.get(entry.waiter) !== entry) return false;
    clearTimeout(entry.timer);
    this.#byWaiter.delete(entry.waiter);
    this.#byId.delete(entry.id);
    return true;
  }
}
