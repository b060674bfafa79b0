/**
 * Sets of header fields the proxy treats specially, by lower-case name. Imports nothing.
 */

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) belong to one connection and are never relayed.
 * `proxy-*` is matched by prefix; every token listed in Connection is added per message.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Not in RFC 9110's list, but connection-specific in practice (Go and nginx drop it too).
  'http2-settings',
]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-');
}

/** Adds the comma-separated tokens of one Connection field value to `into`. */
export function addConnectionTokens(value: string, into: Set<string>): void {
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) into.add(name);
  }
}

/** Describe a message's body: sent only with that body, dropped when a redirect drops it. */
export const BODY_FIELDS: ReadonlySet<string> = new Set(['content-type', 'content-encoding', 'content-language', 'content-length']);

/** Set by the proxy itself (or not at all): a client's copy is never trusted as it is. */
export const PROXY_FIELDS: ReadonlySet<string> = new Set([
  'host',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
]);

/** Content negotiation and range requests: forwarded from the client by default, with every `if-*`. */
export function isNegotiation(name: string): boolean {
  return name === 'accept' || name === 'accept-encoding' || name === 'accept-language' || name === 'range' || name.startsWith('if-');
}

/**
 * Instruction headers, lower-case: offloader's `Offload-*`, nginx's `X-Accel-*`, and
 * `X-Sendfile*` (with Rack's `X-Sendfile-Type` request header, which tells an app what
 * the proxy honours). Never relayed to a client, never accepted from one.
 */
export function isOffloadHeader(name: string): boolean {
  return name.startsWith('offload-') || name.startsWith('x-accel-') || name.startsWith('x-sendfile');
}

/** Statuses whose responses have no body, whatever their headers say (RFC 9110 §6.4.1). */
export function isBodilessStatus(status: number): boolean {
  return status === 204 || status === 304;
}
