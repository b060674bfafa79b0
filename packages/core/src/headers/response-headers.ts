import { addConnectionTokens, isHopByHop } from './hop-by-hop';

type Headers = Record<string, string | string[]>;

export interface UpstreamHead {
  headers: Headers;
  /** The upstream's Content-Length, or null when the body is framed otherwise. */
  contentLength: number | null;
  /** Set when the head cannot be relayed safely; the transfer fails with 502. */
  problem: string | null;
}

const DIGITS = /^\d+$/;

/**
 * Turns undici's raw header pairs into lower-case fields for the client,
 * with hop-by-hop fields and every token named in Connection removed
 * (RFC 9110 §7.6.1) before any user hook sees them. Values are decoded
 * as latin1 so obs-text bytes survive the round trip unchanged.
 */
export function parseUpstreamHead(raw: Buffer[]): UpstreamHead {
  let drop: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === 10 && key.toString('latin1').toLowerCase() === 'connection') {
      drop ??= new Set();
      addConnectionTokens(raw[i + 1]!.toString('latin1'), drop);
    }
  }

  const headers: Headers = {};
  let length: string | null = null;
  let codings: string | null = null;
  let problem: string | null = null;

  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    if (name === 'transfer-encoding') codings = codings === null ? value : `${codings},${value}`;
    if (isHopByHop(name) || drop?.has(name)) continue;
    if (name === 'content-length') {
      if (!DIGITS.test(value) || (length !== null && length !== value)) {
        problem = `invalid content-length ${JSON.stringify(value)}`;
      }
      length = value;
      headers[name] = value;
      continue;
    }
    const prior = headers[name];
    if (prior === undefined) headers[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else headers[name] = [prior, value];
  }

  if (codings !== null && !isPlainChunked(codings)) {
    // Any other coding would reach the client undecoded and unlabelled (RFC 9112 §6.1).
    problem ??= `unsupported transfer-encoding ${JSON.stringify(codings)}`;
  }
  if (codings !== null && length !== null) {
    // Both framings at once is a smuggling shape (RFC 9112 §6.3): never relay the length.
    delete headers['content-length'];
    length = null;
  }
  return { headers, contentLength: length === null || problem ? null : Number(length), problem };
}

/** `chunked` alone, as the only transfer coding, once. */
function isPlainChunked(codings: string): boolean {
  return codings.trim().toLowerCase() === 'chunked';
}
