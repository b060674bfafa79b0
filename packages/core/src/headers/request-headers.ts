import type { IncomingMessage } from 'node:http';
import type { ResolvedCall, ResolvedProxyOptions } from '../options';
import { isOffloadHeader } from '../offload/instruction';
import { addConnectionTokens, isHopByHop } from './hop-by-hop';

/** Forwarded from the client by default: content negotiation plus conditional and range requests. */
const NEGOTIATION = new Set(['accept', 'accept-encoding', 'accept-language', 'range']);
/** Describe the body; forwarded only when the client's body is, dropped when a redirect drops the body. */
export const BODY_FIELDS: ReadonlySet<string> = new Set(['content-type', 'content-encoding', 'content-language', 'content-length']);
/** Set by the proxy itself (or not at all); a client's copy is never trusted as is. */
const PROXY_FIELDS = new Set(['host', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip']);

type Headers = Record<string, string | string[]>;

function connectionTokens(req: IncomingMessage): Set<string> | undefined {
  const value = req.headers.connection;
  if (!value) return undefined;
  const tokens = new Set<string>();
  addConnectionTokens(value, tokens);
  return tokens;
}

function forwardedFor(req: IncomingMessage): string {
  const address = req.socket?.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function isEncrypted(req: IncomingMessage): boolean {
  return Boolean((req.socket as { encrypted?: boolean } | undefined)?.encrypted);
}

/**
 * The upstream request's headers: the allowed client fields, then X-Forwarded-*,
 * then the call's own headers, which win. Hop-by-hop fields are dropped first,
 * so a client's `Connection: x-forwarded-for` cannot remove what the proxy adds.
 * With offload rules, instruction headers a client sent are never forwarded.
 */
export function buildRequestHeaders(req: IncomingMessage, call: ResolvedCall, proxy: ResolvedProxyOptions): Headers {
  const out: Headers = {};
  const drop = connectionTokens(req);
  const forwardBody = call.body === 'request';
  const offload = call.offload !== undefined;
  const incoming = req.headers;

  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || isHopByHop(name) || PROXY_FIELDS.has(name) || drop?.has(name)) continue;
    if (offload && isOffloadHeader(name)) continue;
    if (
      NEGOTIATION.has(name) ||
      name.startsWith('if-') ||
      call.forwardHeaders.has(name) ||
      (forwardBody && BODY_FIELDS.has(name))
    ) {
      // HTTP/2 pseudo-headers (':path') are never tokens worth forwarding.
      if (name.charCodeAt(0) !== 58) out[name] = value;
    }
  }
  if (forwardBody && incoming['transfer-encoding'] !== undefined) {
    // The client's framing is its own: undici re-frames the streamed body (chunked).
    delete out['content-length'];
  }
  addForwarded(out, req, proxy);
  if (call.headers) {
    for (const name in call.headers) out[name] = call.headers[name]!;
  }
  return out;
}

/**
 * Headers for an offload target: only the client's negotiation, range and
 * conditional fields (a resumed download needs them), X-Forwarded-*, then `extra`
 * (Offload-X-* and the forwarded body's fields). Whatever the call added for its
 * own upstream (cookies, credentials) stays with that upstream.
 */
export function buildTargetHeaders(req: IncomingMessage, proxy: ResolvedProxyOptions, extra: Headers): Headers {
  const out = clientFields(req, isNegotiation);
  addForwarded(out, req, proxy);
  for (const name in extra) out[name] = extra[name]!;
  return out;
}

function isNegotiation(name: string): boolean {
  return NEGOTIATION.has(name) || name.startsWith('if-');
}

/** The client's fields `wanted` names, minus hop-by-hop and proxy fields. */
function clientFields(req: IncomingMessage, wanted: (name: string) => boolean): Headers {
  const out: Headers = {};
  const drop = connectionTokens(req);
  const incoming = req.headers;
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || isHopByHop(name) || PROXY_FIELDS.has(name) || drop?.has(name)) continue;
    // HTTP/2 pseudo-headers (':path') are never tokens worth forwarding.
    if (wanted(name) && name.charCodeAt(0) !== 58) out[name] = value;
  }
  return out;
}

function addForwarded(out: Headers, req: IncomingMessage, proxy: ResolvedProxyOptions): void {
  if (proxy.xForwarded === false) return;
  const incoming = req.headers;
  const host = incoming.host ?? (incoming[':authority'] as string | undefined);
  const prior = proxy.xForwarded === 'append' ? incoming['x-forwarded-for'] : undefined;
  const client = forwardedFor(req);
  out['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
  const proto = proxy.xForwarded === 'append' ? incoming['x-forwarded-proto'] : undefined;
  out['x-forwarded-proto'] = proto ?? (isEncrypted(req) ? 'https' : 'http');
  const forwardedHost = proxy.xForwarded === 'append' ? incoming['x-forwarded-host'] : undefined;
  const hostValue = forwardedHost ?? host;
  if (hostValue) out['x-forwarded-host'] = hostValue;
}
