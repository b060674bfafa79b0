/**
 * The `Link` values of a `103 Early Hints` (RFC 8297) that may be relayed. Imports only
 * the HTTP syntax rules.
 */
import { isFieldValue } from './syntax';

/**
 * One link-value (RFC 8288 §3): `<uri>`, then `; param` or `; param=value`. This is the
 * shape Node's `writeEarlyHints` accepts (it throws on anything else, a comma-joined
 * list included): a value it would refuse is dropped here rather than thrown there.
 */
const LINK_VALUE = /^<[^<>]*>(?:[ \t]*;[ \t]*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/;

/**
 * The link-values of a 103's `Link` field lines, one per entry: a line listing several
 * is split at its top-level commas (not inside `<…>` or quotes). Values that are not
 * link-values, or not field values at all (CR, LF, NUL, other controls), are dropped.
 */
export function earlyHintLinks(field: string | string[] | undefined): string[] {
  if (field === undefined) return [];
  const links: string[] = [];
  for (const line of typeof field === 'string' ? [field] : field) {
    if (!isFieldValue(line)) continue;
    for (const value of splitList(line)) if (LINK_VALUE.test(value)) links.push(value);
  }
  return links;
}

/** Splits a field value at the commas outside `<…>` and quoted strings; trims each part and drops empty ones. */
function splitList(line: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let inUri = false;
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
    } else if (inUri) {
      if (c === '>') inUri = false;
    } else if (c === '<') inUri = true;
    else if (c === '"') inQuotes = true;
    else if (c === ',') {
      parts.push(line.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(line.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}
