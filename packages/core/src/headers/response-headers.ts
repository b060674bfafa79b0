import { addConnectionTokens, isHopByHop } from '../http/fields';

type Headers = Record<string, string | string[]>;

/** Response fields as undici's handler API delivers them: lower-case names, latin1 values, repeats as arrays. */
export type ParsedHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamHead {
  headers: Headers;
  /** The upstream's Content-Length, or null when the body is framed otherwise. */
  contentLength: number | null;
  /** Set when the head cannot be relayed safely; the transfer fails with 502. */
  problem: string | null;
}

const DIGITS = /^\d+$/;
const LEADING_ZEROS = /^0+(?=\d)/;

/**
 * The fields of an upstream head as the client may get them: hop-by-hop fields and
 * every token named in Connection removed (RFC 9110 §7.6.1) before any user hook sees
 * them, and the framing checked: one Content-Length value of digits only, and no
 * transfer coding but a single `chunked` (anything else would reach the client
 * undecoded and unlabelled, RFC 9112 §6.1). Both framings at once is a smuggling
 * shape (RFC 9112 §6.3): the length is never relayed then.
 */
export function parseUpstreamHead(parsed: ParsedHeaders): UpstreamHead {
  let drop: Set<string> | undefined;
  const connection = parsed.connection;
  if (connection !== undefined) {
    drop = new Set();
    for (const value of typeof connection === 'string' ? [connection] : connection) addConnectionTokens(value, drop);
  }

  const headers: Headers = {};
  let length: string | null = null;
  let problem: string | null = null;
  for (const name in parsed) {
    const value = parsed[name];
    if (value === undefined || isHopByHop(name) || drop?.has(name)) continue;
    if (name === 'content-length') {
      const values = typeof value === 'string' ? [value] : value;
      for (const v of values) {
        // 1*DIGIT (RFC 9110 §8.6): leading zeros are allowed and say nothing; `007` is sent on as `7`.
        const digits = DIGITS.test(v) ? v.replace(LEADING_ZEROS, '') : null;
        if (digits === null || (length !== null && length !== digits)) problem ??= `invalid content-length ${JSON.stringify(v)}`;
        length = digits ?? v;
      }
      headers[name] = length!;
      continue;
    }
    headers[name] = value;
  }

  const codings = parsed['transfer-encoding'];
  if (codings !== undefined) {
    const joined = typeof codings === 'string' ? codings : codings.join(',');
    if (joined.trim().toLowerCase() !== 'chunked') problem ??= `unsupported transfer-encoding ${JSON.stringify(joined)}`;
    if (length !== null) {
      delete headers['content-length'];
      length = null;
    }
  }
  return { headers, contentLength: length === null || problem ? null : Number(length), problem };
}
