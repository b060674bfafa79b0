/** The longest Retry-After honoured (when retryMax is shorter): a target asking for more waits this long. */
export const RETRY_AFTER_CAP = 60 * 60 * 1000;

/**
 * Retry timing: exponential backoff with full jitter (a delay drawn uniformly from 0 to
 * base·2^(attempt-1), at most `max`), so workers that failed together do not retry together;
 * a target's Retry-After is a floor, up to an hour (or `max`, if longer).
 */
export function retryDelay(attempt: number, base: number, max: number, retryAfterMs: number | undefined, random = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, Math.max(max, RETRY_AFTER_CAP)));
}

/** Retry-After (RFC 9110 §10.2.3) in ms from `now`: delay-seconds or an HTTP-date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone would take '-1' for a year.
  const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What a target's answer means for the job: 2xx done; 408, 425, 429 and 5xx again later; anything else never will be. */
export function verdict(status: number): 'done' | 'retry' | 'dead' {
  if (status >= 200 && status <= 299) return 'done';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'dead';
}
