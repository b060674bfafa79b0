/**
 * Every failure handoff reports is a ProxyError: a stable `code`, the HTTP
 * `status` it maps to, and the underlying `cause`.
 */

/** Each code and the status the client is answered with while nothing has been sent. */
export const ERROR_STATUS = {
  HANDOFF_INVALID_OPTIONS: 500,
  HANDOFF_QUEUE_FULL: 503,
  HANDOFF_QUEUE_TIMEOUT: 503,
  HANDOFF_CLOSED: 503,
  HANDOFF_SHUTDOWN: 503,
  HANDOFF_CONNECT_TIMEOUT: 504,
  HANDOFF_HEADERS_TIMEOUT: 504,
  HANDOFF_BODY_TIMEOUT: 504,
  HANDOFF_UPSTREAM_UNREACHABLE: 502,
  HANDOFF_UPSTREAM_RESET: 502,
  HANDOFF_UPSTREAM_TLS: 502,
  HANDOFF_INVALID_RESPONSE: 502,
  HANDOFF_UPSTREAM_TRUNCATED: 502,
  HANDOFF_UPSTREAM_ERROR: 502,
  HANDOFF_HOOK_FAILED: 502,
  HANDOFF_INVALID_HEADER: 502,
  HANDOFF_REQUEST_BODY: 400,
  /** A request target the proxy does not forward (not origin-form, or climbing out of a base path). */
  HANDOFF_BAD_REQUEST_TARGET: 400,
  HANDOFF_REQUEST_TIMEOUT: 408,
  /** The upload came slower than minDataRate.request. */
  HANDOFF_REQUEST_TOO_SLOW: 408,
  /** The client read slower than minDataRate.response: always after the head, so a cut connection. */
  HANDOFF_RESPONSE_TOO_SLOW: 408,
  HANDOFF_REQUEST_TOO_LARGE: 413,
  HANDOFF_TARGET_FORBIDDEN: 403,
  HANDOFF_REDIRECT_FORBIDDEN: 502,
  HANDOFF_OFFLOAD_INVALID: 502,
  HANDOFF_OFFLOAD_FORBIDDEN: 403,
  HANDOFF_OFFLOAD_NOT_FOUND: 404,
  HANDOFF_OFFLOAD_FILE_ERROR: 500,
  HANDOFF_RESOURCES_EXHAUSTED: 503,
  /** Upload storage could not be reached, refused the upload (a signature, a permission) or answered something unusable. */
  HANDOFF_STORAGE_ERROR: 502,
  /** Upload storage answered 5xx (busy, throttling, failing): the client may try again. */
  HANDOFF_STORAGE_UNAVAILABLE: 503,
  HANDOFF_ABORTED: 503,
  HANDOFF_CLIENT_ABORTED: 499,
  /** Reported through cache.onError only: a store failure never reaches a client. */
  HANDOFF_CACHE_STORE: 503,
  /** The shared gate's Redis is unreachable and `gate.whenDown` is 'closed'; also reported once per outage through gate.onError. */
  HANDOFF_GATE_UNAVAILABLE: 503,
  /** A request for later delivery could not be stored (the queue's database is unreachable or failed): never answered 202. */
  HANDOFF_STORE_UNAVAILABLE: 503,
  /** An Idempotency-Key already used for a request with another method, URL or body (RELIABILITY H36). */
  HANDOFF_IDEMPOTENCY_MISMATCH: 422,
  /** An Idempotency-Key whose first request is still being received (RELIABILITY H36). */
  HANDOFF_IDEMPOTENCY_IN_PROGRESS: 409,
} as const;

export type ProxyErrorCode = keyof typeof ERROR_STATUS;

const kProxyError = Symbol.for('handoff.ProxyError');

export class ProxyError extends Error {
  override name = 'ProxyError';
  readonly code: ProxyErrorCode;
  /** The HTTP status this failure maps to (499: the client went away). */
  readonly status: number;
  /**
   * Koa's default error handler logs every emitted error unless `expose` is set.
   * A client hanging up is routine (nginx logs it as 499), so only that one is
   * marked; handoff never sends any error message to a client either way.
   */
  readonly expose: boolean;
  /** For HANDOFF_INVALID_OPTIONS: the option at fault, dotted (`bodyTimeout`, `offload.accel`, `cache.maxSize`). */
  readonly option: string | undefined;

  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown; option?: string }) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.expose = code === 'HANDOFF_CLIENT_ABORTED';
    this.option = options?.option;
  }

  /** True for errors from any installed copy of @handoff/core, as undici does for its errors. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isProxyError(value);
  }

  get [kProxyError](): true {
    return true;
  }
}

/** What a part of a transfer (its upload, its relay, a forwarded body) reports failures to: the transfer. */
export interface FailureOwner {
  /** `GET http://host/path`, for messages. */
  describe(): string;
  /** Ends the transfer with `err`: an error answer while nothing was sent, a cut connection after. */
  fail(err: ProxyError): void;
}

export function isProxyError(value: unknown): value is ProxyError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kProxyError] === true;
}

/** `GET http://host/path`, with any userinfo removed so credentials never reach a log. */
export function describeTarget(method: string, url: URL): string {
  if (url.username || url.password) {
    const copy = new URL(url.href);
    copy.username = '';
    copy.password = '';
    return `${method} ${copy.href}`;
  }
  return `${method} ${url.href}`;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);

/**
 * undici's SocketError messages for a response nothing asked for: a 101 to a request
 * without Upgrade, or bytes with no request in flight. Not a reset, and never retried.
 */
export const UNSOLICITED: ReadonlySet<string> = new Set(['bad upgrade', 'bad response']);

/** OpenSSL verification codes (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, …) and Node's TLS errors. */
function isTlsError(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'HOSTNAME_MISMATCH'
  );
}

/**
 * Turns whatever undici, the OS or a stream reported into a ProxyError.
 * `afterHeaders` tells a truncated body apart from a failure before the response began.
 */
export function toProxyError(err: unknown, target: string, afterHeaders: boolean): ProxyError {
  if (isProxyError(err)) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  const reason = err instanceof Error ? err.message : String(err);

  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ProxyError('HANDOFF_CONNECT_TIMEOUT', `Upstream connect timed out: ${target}`, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ProxyError('HANDOFF_HEADERS_TIMEOUT', `Upstream sent no headers in time: ${target}`, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new ProxyError('HANDOFF_BODY_TIMEOUT', `Upstream body stalled: ${target}`, { cause: err });
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return new ProxyError('HANDOFF_REQUEST_BODY', `Request body does not match its Content-Length: ${target}`, { cause: err });
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream body does not match its Content-Length: ${target}`, { cause: err });
    case 'UND_ERR_HEADERS_OVERFLOW':
      return new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream header block is too large: ${target}`, { cause: err });
    case 'UND_ERR_INVALID_ARG':
      return new ProxyError('HANDOFF_INVALID_OPTIONS', `Invalid upstream request (${reason}): ${target}`, { cause: err });
  }
  if (code === 'UND_ERR_SOCKET' && UNSOLICITED.has(reason)) {
    return new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream sent a response the request did not ask for (${reason}): ${target}`, { cause: err });
  }
  // undici's HTTPParserError does not always carry an HPE_ code.
  if (code.startsWith('HPE_') || (err as Error | undefined)?.name === 'HTTPParserError') {
    return new ProxyError('HANDOFF_INVALID_RESPONSE', `Upstream sent an invalid response (${reason}): ${target}`, { cause: err });
  }
  if (afterHeaders) {
    return new ProxyError('HANDOFF_UPSTREAM_TRUNCATED', `Upstream failed mid-body (${reason}): ${target}`, { cause: err });
  }
  if (code === 'EMFILE' || code === 'ENFILE') {
    return new ProxyError('HANDOFF_RESOURCES_EXHAUSTED', `Out of file descriptors (${code}): ${target}`, { cause: err });
  }
  if (UNREACHABLE.has(code)) {
    return new ProxyError('HANDOFF_UPSTREAM_UNREACHABLE', `Upstream unreachable (${code}): ${target}`, { cause: err });
  }
  if (code && isTlsError(code)) {
    return new ProxyError('HANDOFF_UPSTREAM_TLS', `Upstream TLS failed (${code}): ${target}`, { cause: err });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') {
    return new ProxyError('HANDOFF_UPSTREAM_RESET', `Upstream closed the connection before responding (${reason}): ${target}`, { cause: err });
  }
  return new ProxyError('HANDOFF_UPSTREAM_ERROR', `Upstream request failed (${reason}): ${target}`, { cause: err });
}
