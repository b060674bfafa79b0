/**
 * The Age a cache should use (RFC 9111 §5.1): the first member of the field value, across
 * lines (`0, 7200` and two lines `0`, `7200` are both 0), ignored when that member is not
 * a non-negative integer (`abc`, `-1`, `1.5`). undici 7 instead treats any such field as
 * infinitely old and refuses to store the response (lib/handler/cache-handler.js, getAge).
 * Returns the digits to send on, or undefined when the field is to be ignored.
 */
export function usableAge(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = (typeof value === 'string' ? value : value[0] ?? '').split(',', 1)[0]!.trim();
  return /^[0-9]+$/.test(first) ? first : undefined;
}
