import type { TargetLimits } from './options';

interface Target {
  limits: Required<TargetLimits>;
  active: number;
  /** When the next attempt may start (rate limit: starts are spaced 1/rate s apart). */
  nextStart: number;
  waiting: Array<() => void>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Per-destination limits of one worker process: at most `concurrency` deliveries in flight
 * to an origin, and attempts started no closer than 1/rate s apart (no bursts, so any
 * one-second window holds at most `rate` starts). Claims skip the origins that are full.
 */
export class TargetGate {
  readonly #targets = new Map<string, Target>();

  constructor(
    private readonly base: Required<TargetLimits>,
    private readonly overrides: ReadonlyMap<string, Required<TargetLimits>>,
  ) {}

  /** Resolves when a delivery to `origin` may start (call `release(origin)` after it), or rejects once `signal` aborts. */
  acquire(origin: string, signal: AbortSignal): Promise<void> {
    const target = this.#target(origin);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        target.waiting.splice(target.waiting.indexOf(start), 1);
        reject(signal.reason);
      };
      const start = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      target.waiting.push(start);
      this.#pump(origin, target);
    });
  }

  release(origin: string): void {
    const target = this.#targets.get(origin);
    if (!target) return;
    target.active--;
    this.#pump(origin, target);
    if (target.active === 0 && target.waiting.length === 0 && target.timer === undefined && target.nextStart <= Date.now()) {
      this.#targets.delete(origin);
    }
  }

  /** Origins that cannot take one more delivery now: claiming jobs for them would only hold their leases. */
  busy(): string[] {
    const out: string[] = [];
    for (const [origin, t] of this.#targets) {
      if (t.active + t.waiting.length >= t.limits.concurrency || (t.limits.rate > 0 && t.waiting.length > 0)) out.push(origin);
    }
    return out;
  }

  /** Stops the rate timers (at shutdown, once nothing waits). */
  clear(): void {
    for (const t of this.#targets.values()) clearTimeout(t.timer);
    this.#targets.clear();
  }

  #target(origin: string): Target {
    let target = this.#targets.get(origin);
    if (!target) {
      target = { limits: this.overrides.get(origin) ?? this.base, active: 0, nextStart: 0, waiting: [], timer: undefined };
      this.#targets.set(origin, target);
    }
    return target;
  }

  #pump(origin: string, target: Target): void {
    while (target.waiting.length > 0 && target.active < target.limits.concurrency && target.timer === undefined) {
      const { rate } = target.limits;
      const now = Date.now();
      if (rate > 0 && now < target.nextStart) {
        target.timer = setTimeout(() => {
          target.timer = undefined;
          this.#pump(origin, target);
        }, target.nextStart - now);
        return;
      }
      if (rate > 0) target.nextStart = Math.max(now, target.nextStart) + Math.ceil(1000 / rate);
      target.active++;
      target.waiting.shift()!();
    }
  }
}
