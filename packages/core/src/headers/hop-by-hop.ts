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
