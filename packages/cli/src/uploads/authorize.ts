import type { IncomingMessage } from 'node:http';
import { ProxyError, addConnectionTokens, isHopByHop, isOffloadHeader } from '@handoff/core';
import { resolveLimits, resolveTarget, type UploadTarget } from '@handoff/uploads';
import { SignJWT } from 'jose';
import { request, type Dispatcher } from 'undici';
import { AUTHORIZE_HEADER } from './fields';

/** What the backend allowed: the upload's largest size, and where the file goes. */
export interface Authorized {
  maxSize: number;
  target: UploadTarget;
}

/** The backend refused (or could not answer): its answer, to relay to the client as it is. */
export interface Refused {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Fields of the client's request never sent with the authorize request: framing, the proxy's own, instructions. */
const NOT_SENT = new Set(['host', 'content-length', 'expect', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip']);
/** A refusal's body, relayed to the client: an error page. */
const MAX_REFUSAL = 64 * 1024;
/**
 * A grant's body: an s3Store grant with 10,000 part URLs (S3's most) measured 4.6 MB against
 * s3rver (458 bytes a URL); with temporary credentials each URL also carries an
 * X-Amz-Security-Token (often over 1 KB), about 20 MB in all: 32 MiB holds that.
 */
const MAX_GRANT = 32 * 1024 * 1024;

export interface AuthorizeCall {
  req: IncomingMessage;
  /** The backend's origin, and the path (with query) to authorize at. */
  origin: string;
  path: string;
  key: Uint8Array;
  dispatcher: Dispatcher;
  headersTimeout: number;
  bodyTimeout: number;
}

/**
 * Asks the backend whether this upload may go ahead, Workhorse-style: `POST <path>/authorize`
 * with the client's headers and no body, signed with `Handoff-Upload-Authorization` (a JWT
 * HS256 over the method and path, valid 60 s) so the backend knows the sidecar sent it.
 * A 2xx answer must be the JSON `{ maxSize, tempPath | remote }`; anything else is relayed.
 */
export async function authorize(call: AuthorizeCall): Promise<Authorized | Refused> {
  const { req } = call;
  const headers = authorizeHeaders(req);
  headers[AUTHORIZE_HEADER] = await new SignJWT({ method: req.method, path: req.url })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('handoff')
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(call.key);
  headers['content-length'] = '0';
  const what = `POST ${call.path.split('?')[0]}`;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(`${call.origin}${call.path}`, {
      method: 'POST',
      headers,
      body: '',
      dispatcher: call.dispatcher,
      headersTimeout: call.headersTimeout,
      bodyTimeout: call.bodyTimeout,
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
    throw new ProxyError(timeout ? 'HANDOFF_HEADERS_TIMEOUT' : 'HANDOFF_UPSTREAM_UNREACHABLE', `Upload authorize request failed (${code}): ${what}`, { cause: err });
  }
  const granted = res.statusCode >= 200 && res.statusCode <= 299;
  const limit = granted ? MAX_GRANT : MAX_REFUSAL;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw new ProxyError('HANDOFF_INVALID_RESPONSE', `Upload authorize answer (${res.statusCode}) is over ${limit} bytes: ${what}`);
    }
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  if (!granted) return { status: res.statusCode, headers: relayable(res.headers), body };
  return parseAnswer(body, what);
}

function authorizeHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const drop = new Set<string>();
  if (req.headers.connection) addConnectionTokens(req.headers.connection, drop);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || isHopByHop(name) || drop.has(name) || NOT_SENT.has(name) || isOffloadHeader(name)) continue;
    out[name] = value;
  }
  const address = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  return out;
}

function relayable(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name) || name === 'content-length' || isOffloadHeader(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The authorize answer, checked: `{ maxSize, tempPath }` or `{ maxSize, remote: { putUrl | multipart, … } }`. */
export function parseAnswer(body: Buffer, what: string): Authorized {
  let answer: unknown;
  try {
    answer = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProxyError('HANDOFF_INVALID_RESPONSE', `Upload authorize answer is not JSON: ${what}`);
  }
  try {
    const { maxSize, tempPath, remote } = (answer ?? {}) as { maxSize?: number; tempPath?: string; remote?: unknown };
    const target = (remote === undefined ? { tempPath } : tempPath === undefined ? { remote } : { tempPath, remote }) as UploadTarget;
    resolveTarget(target, 'authorize answer');
    return { maxSize: resolveLimits({ maxSize: maxSize as number }).maxSize, target };
  } catch (err) {
    throw new ProxyError('HANDOFF_INVALID_RESPONSE', `Upload authorize answer is invalid (${(err as Error).message}): ${what}`, { cause: err });
  }
}
