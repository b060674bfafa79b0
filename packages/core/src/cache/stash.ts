type Fields = Record<string, string | string[] | undefined>;
type Value = string | string[];

/**
 * Where the cache's view of a response keeps what it changed in the origin's header
 * fields (cache/policy-head.ts): undici's cache interceptor decides and stores from the
 * fields it is given, so the fields it must decide by replace the origin's, and the
 * origin's go here, to be put back before a client sees the response. Never sent on.
 */
export const STASH_FIELD = 'x-handoff-stash';

interface Stash {
  /** The origin's values of the fields replaced or hidden (null: it had none). */
  origin: Record<string, Value | null>;
  /** Fields the client does not get (targeted at this proxy alone). */
  strip: string[];
}

/** Records what `headers` (the cache's view) changed: nothing is recorded when nothing changed. */
export function stash(headers: Fields, origin: Record<string, Value | null>, strip: string[]): void {
  if (Object.keys(origin).length === 0 && strip.length === 0) return;
  headers[STASH_FIELD] = JSON.stringify({ origin, strip } satisfies Stash);
}

/** The origin's fields, from the cache's view of them (a stored response being freshened). */
export function originView<T extends Fields>(headers: T): T {
  const found = read(headers[STASH_FIELD]);
  if (!found) return headers;
  const fields: Fields = { ...headers };
  delete fields[STASH_FIELD];
  apply(fields, found.origin);
  return fields as T;
}

/** Turns the cache's view into what the client gets, in place: the origin's fields back, the proxy's own removed. */
export function clientView(headers: Fields): void {
  const found = read(headers[STASH_FIELD]);
  delete headers[STASH_FIELD];
  if (!found) return;
  apply(headers, found.origin);
  for (const name of found.strip) delete headers[name];
}

function apply(fields: Fields, origin: Record<string, Value | null>): void {
  for (const name in origin) {
    const value = origin[name];
    if (value === null || value === undefined) delete fields[name];
    else fields[name] = value;
  }
}

function read(value: Value | undefined): Stash | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<Stash>;
    if (typeof parsed.origin !== 'object' || parsed.origin === null || !Array.isArray(parsed.strip)) return undefined;
    return parsed as Stash;
  } catch {
    return undefined;
  }
}
