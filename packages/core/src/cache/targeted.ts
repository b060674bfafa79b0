import { parseDictionary, Token, type Dictionary } from 'structured-headers';

/** Directives whose argument is delta-seconds (RFC 9111 §1.2.2): an Integer in a targeted field. */
const SECONDS = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);
/** Directives that take no argument: Boolean true when present. */
const FLAGS = new Set(['no-store', 'no-transform', 'must-revalidate', 'proxy-revalidate', 'must-understand', 'public', 'immutable']);
/** Directives that are a flag, or carry field names (a String) when qualified. */
const QUALIFIABLE = new Set(['no-cache', 'private']);

/**
 * The cache policy of a response with targeted cache-control (RFC 9213): the first of
 * `fields` (in that order of precedence) that is a valid, non-empty Structured Fields
 * Dictionary, as the Cache-Control field value it stands for. Undefined when none is
 * (an invalid field is ignored, §2.1), so Cache-Control and Expires apply as usual.
 */
export function targetedCacheControl(headers: Record<string, unknown>, fields: readonly string[]): string | undefined {
  for (const name of fields) {
    const value = headers[name];
    const text = typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : undefined;
    if (text === undefined) continue;
    const directives = cacheControlOf(text);
    if (directives !== undefined) return directives;
  }
  return undefined;
}

/** A targeted field value as Cache-Control directives; undefined when it is invalid or empty. */
export function cacheControlOf(text: string): string | undefined {
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(text);
  } catch {
    return undefined;
  }
  if (dictionary.size === 0) return undefined;
  const directives: string[] = [];
  for (const [name, member] of dictionary) {
    const value = member[0];
    // A directive given a type it does not take makes the whole field invalid, as a parse error does.
    if (Array.isArray(value)) {
      if (SECONDS.has(name) || FLAGS.has(name) || QUALIFIABLE.has(name)) return undefined;
      continue;
    }
    if (typeof value === 'boolean') {
      if (SECONDS.has(name)) return undefined;
      if (value) directives.push(name);
    } else if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < 0 || FLAGS.has(name) || QUALIFIABLE.has(name)) return undefined;
      directives.push(`${name}=${value}`);
    } else if (typeof value === 'string') {
      if (SECONDS.has(name) || FLAGS.has(name)) return undefined;
      directives.push(`${name}="${value.replace(/["\\]/g, '\\$&')}"`);
    } else if (value instanceof Token) {
      if (SECONDS.has(name) || FLAGS.has(name) || QUALIFIABLE.has(name)) return undefined;
      directives.push(`${name}=${value.toString()}`);
    } else if (SECONDS.has(name) || FLAGS.has(name) || QUALIFIABLE.has(name)) {
      // A Decimal, Byte Sequence, Date or Display String.
      return undefined;
    }
  }
  return directives.join(', ');
}
