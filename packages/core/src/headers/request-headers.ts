import type { IncomingMessage } from 'node:http';
import { BODY_FIELDS, PROXY_FIELDS, addConnectionTokens, isHopByHop, isNegotiation, isOffloadHeader } from '../http/fields';
import { FORWARD_ALL, type ResolvedCall, type ResolvedProxyOptions } from '../options/resolve';

type Headers = Record<string, string | string[]>;

/** The proxy answers `Expect: 100-continue` itself (RELIABILITY B14); undici refuses to send it. */
const NEVER_FORWARDED = 'expect';

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

/** Whether a client field may go upstream at all: not hop-by-hop, not the proxy's own, not an HTTP/2 pseudo-header. */
function relayable(name: string, drop: Set<string> | undefined): boolean {
  return !isHopByHop(name) && !PROXY_FIELDS.has(name) && drop?.has(name) !== true && name !== NEVER_FORWARDED && name.charCodeAt(0) !== 58;
}

/**
 * The upstream request's headers: the allowed client fields, then X-Forwarded-*,
 * then the call's own headers, which win. Hop-by-hop fields are dropped first,
 * so a client's `Connection: x-forwarded-for` cannot remove what the proxy adds.
 * Instruction headers a client sent are never forwarded with offload rules or with
 * `forwardHeaders: 'all'`; only a call naming them forwards them, without offload rules.
 */
export function buildRequestHeaders(req: IncomingMessage, call: ResolvedCall, proxy: ResolvedProxyOptions): Headers {
  const out: Headers = {};
  const drop = connectionTokens(req);
  const forwardBody = call.body === 'request';
  const offload = call.offload !== undefined;
  const forward = call.forwardHeaders;
  const incoming = req.headers;

  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || !relayable(name, drop)) continue;
    // 'all' never passes instruction headers on: a backend framework may trust them
    // (Rack::Sendfile reads X-Sendfile-Type and X-Accel-Mapping from the request).
    if ((offload || forward === FORWARD_ALL) && isOffloadHeader(name)) continue;
    // Body fields follow the body; `forwardHeaders: 'all'` never sends them without it.
    const wanted = BODY_FIELDS.has(name) ? forwardBody || (forward !== FORWARD_ALL && forward(name)) : isNegotiation(name) || forward(name);
    if (wanted) out[name] = value;
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
  const out: Headers = {};
  const drop = connectionTokens(req);
  const incoming = req.headers;
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && isNegotiation(name) && relayable(name, drop)) out[name] = value;
  }
  addForwarded(out, req, proxy);
  for (const name in extra) out[name] = extra[name]!;
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

/**
 * Removes the instruction headers a client sent (`Offload-*`, `X-Accel-*`, `X-Sendfile*`)
 * from a request, parsed and raw, so no handler (nor anything it forwards them to)
 * mistakes them for the proxy's own (RELIABILITY D22).
 */
export function stripInstructionHeaders(req: IncomingMessage): void {
  dropRequestHeaders(req, isOffloadHeader);
}

/** Removes a request's headers whose lower-case name `drop` matches, from `headers` and `rawHeaders` alike. */
export function dropRequestHeaders(req: IncomingMessage, drop: (name: string) => boolean): void {
  let found = false;
  for (const name in req.headers) {
    if (drop(name)) {
      delete req.headers[name];
      found = true;
    }
  }
  if (!found) return;
  const raw = req.rawHeaders;
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!drop(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
  }
  req.rawHeaders = kept;
}
