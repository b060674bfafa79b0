export interface UntilOptions {
  /** Fails after this many ms (default 10 000, within the test timeout). */
  timeout?: number;
  /** Ms between checks; 0 (the default) checks on every turn of the event loop. Give one when waiting on another process. */
  every?: number;
}

/** Resolves once `predicate` holds (it may be async), or rejects naming `what` after `timeout`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what = 'condition',
  { timeout = 10_000, every = 0 }: UntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => (every > 0 ? setTimeout(resolve, every) : setImmediate(resolve)));
  }
}

/** Settles like `promise`, or rejects if it has not settled within `ms` (so a hang fails the test instead). */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
