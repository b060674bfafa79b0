type Value = string | string[] | undefined;

/** The members of a Cache-Control value (its lines joined), each trimmed, quoted strings left intact. */
function members(value: Value): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  return (text.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []).map((member) => member.trim()).filter((member) => member !== '');
}

function directiveName(member: string): string {
  return member.split('=', 1)[0]!.trim().toLowerCase();
}

/** Whether the Cache-Control value holds the directive `name` (lower case). */
export function hasDirective(value: Value, name: string): boolean {
  return members(value).some((member) => directiveName(member) === name);
}

/** `public` or `s-maxage` among the directives: the origin's explicit leave to share the response (RFC 9111 §3). */
export function explicitlyPublic(value: Value): boolean {
  return members(value).some((member) => {
    const name = directiveName(member);
    return name === 'public' || name === 's-maxage';
  });
}

/**
 * Final status codes whose caching rules this cache implements: those RFC 9110 defines, but
 * 206, which it never stores (undici's interceptor does not combine partial content).
 */
const UNDERSTOOD = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411,
  412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
]);

/**
 * `must-understand` (RFC 9111 §5.2.2.3), which undici 7 parses and ignores: a response with it
 * may be stored only by a cache that implements its status code's caching rules, and such a
 * cache ignores `no-store`, which the origin adds for caches that do not know the directive.
 * Returns the Cache-Control the cache is to decide by, or undefined when it is the origin's.
 */
export function mustUnderstandView(value: Value, status: number): string | undefined {
  if (!hasDirective(value, 'must-understand')) return undefined;
  const all = members(value);
  if (!UNDERSTOOD.has(status)) return [...all, 'no-store'].join(', ');
  return all.filter((member) => directiveName(member) !== 'no-store').join(', ');
}
