import type { Dispatcher } from 'undici';

/** What the owner of an OwnController does when the handler it drives aborts, pauses or resumes. */
export interface ControllerOwner {
  onAbort(reason: Error): void;
  onPause(): void;
  onResume(): void;
}

/**
 * The controller handed to a handler that one of our interceptors drives itself
 * (a waiter of a coalesced request, a stored body replayed after a 304): it records
 * the abort and the pause, which the owner reads back, and tells the owner of each.
 */
export class OwnController implements Dispatcher.DispatchController {
  #reason: Error | null = null;
  #paused = false;

  constructor(private readonly owner: ControllerOwner) {}

  get aborted(): boolean {
    return this.#reason !== null;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason?: Error): void {
    if (this.#reason) return;
    this.#reason = reason ?? new Error('aborted');
    this.owner.onAbort(this.#reason);
  }

  pause(): void {
    this.#paused = true;
    this.owner.onPause();
  }

  resume(): void {
    this.#paused = false;
    this.owner.onResume();
  }
}
