import { errors } from 'undici';
import { ERROR_STATUS, ProxyError, describeTarget, isProxyError, toProxyError } from '../../packages/core/src/errors';

const TARGET = 'GET http://upstream.test/path';

/** undici's typings omit the constructor's llhttp code argument (the error then carries `HPE_<code>`). */
const HTTPParserError = errors.HTTPParserError as unknown as new (message: string, code?: string) => Error & { code?: string };

/** An OS-style error: a message and a string `code`. */
function osError(code: string, message = `${code} happened`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('ProxyError', () => {
  it('takes its status from the code table', () => {
    for (const code of Object.keys(ERROR_STATUS) as Array<keyof typeof ERROR_STATUS>) {
      expect(new ProxyError(code, 'm').status).toBe(ERROR_STATUS[code]);
    }
    expect(new ProxyError('HANDOFF_HEADERS_TIMEOUT', 'm').status).toBe(504);
    expect(new ProxyError('HANDOFF_UPSTREAM_UNREACHABLE', 'm').status).toBe(502);
  });

  it('is named ProxyError and carries code and message', () => {
    const err = new ProxyError('HANDOFF_QUEUE_FULL', 'Queue is full: GET http://a/');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProxyError');
    expect(err.code).toBe('HANDOFF_QUEUE_FULL');
    expect(err.message).toBe('Queue is full: GET http://a/');
  });

  it('sets expose only for a client that went away', () => {
    expect(new ProxyError('HANDOFF_CLIENT_ABORTED', 'm').expose).toBe(true);
    expect(new ProxyError('HANDOFF_CLIENT_ABORTED', 'm').status).toBe(499);
    expect(new ProxyError('HANDOFF_UPSTREAM_ERROR', 'm').expose).toBe(false);
    expect(new ProxyError('HANDOFF_INVALID_OPTIONS', 'm').expose).toBe(false);
  });

  it('keeps the cause only when one is given, even an undefined one', () => {
    const cause = new Error('root');
    expect(new ProxyError('HANDOFF_UPSTREAM_ERROR', 'm', { cause }).cause).toBe(cause);
    expect('cause' in new ProxyError('HANDOFF_UPSTREAM_ERROR', 'm')).toBe(false);
    expect('cause' in new ProxyError('HANDOFF_INVALID_OPTIONS', 'm', { option: 'x' })).toBe(false);
    expect('cause' in new ProxyError('HANDOFF_UPSTREAM_ERROR', 'm', { cause: undefined })).toBe(true);
  });

  it('names the option at fault when given one, and is undefined otherwise', () => {
    expect(new ProxyError('HANDOFF_INVALID_OPTIONS', 'm', { option: 'offload.accel' }).option).toBe('offload.accel');
    expect(new ProxyError('HANDOFF_INVALID_OPTIONS', 'm').option).toBeUndefined();
  });
});

describe('isProxyError and instanceof', () => {
  const brand = Symbol.for('handoff.ProxyError');

  it('recognise a ProxyError', () => {
    const err = new ProxyError('HANDOFF_CLOSED', 'm');
    expect(isProxyError(err)).toBe(true);
    expect(err instanceof ProxyError).toBe(true);
  });

  it('recognise a value from another installed copy, which only carries the Symbol.for brand', () => {
    const foreign = Object.assign(new Error('from the other copy'), { [brand]: true, code: 'HANDOFF_CLOSED' });
    expect(isProxyError(foreign)).toBe(true);
    expect(foreign instanceof ProxyError).toBe(true);
    const bare = { [brand]: true };
    expect(isProxyError(bare)).toBe(true);
    expect(bare instanceof ProxyError).toBe(true);
  });

  it('refuse a brand that is not exactly true', () => {
    expect(isProxyError({ [brand]: 'yes' })).toBe(false);
    expect({ [brand]: 1 } instanceof ProxyError).toBe(false);
  });

  it('refuse plain errors, look-alikes without the brand, and non-objects', () => {
    expect(isProxyError(new Error('x'))).toBe(false);
    expect(isProxyError({ name: 'ProxyError', code: 'HANDOFF_CLOSED', status: 503 })).toBe(false);
    expect(isProxyError({ [Symbol('handoff.ProxyError')]: true })).toBe(false);
    for (const value of [null, undefined, 'ProxyError', 503, true]) {
      expect(isProxyError(value)).toBe(false);
      expect((value as unknown) instanceof ProxyError).toBe(false);
    }
  });
});

describe('describeTarget', () => {
  it('is the method and the URL', () => {
    expect(describeTarget('GET', new URL('http://host:8080/a/b?q=1'))).toBe('GET http://host:8080/a/b?q=1');
  });

  it('strips a username and password so credentials never reach a message', () => {
    const url = new URL('https://user:secret@host/path');
    const text = describeTarget('POST', url);
    expect(text).toBe('POST https://host/path');
    expect(text).not.toContain('secret');
    expect(text).not.toContain('user');
  });

  it('strips a username without a password', () => {
    expect(describeTarget('GET', new URL('http://token@host/'))).toBe('GET http://host/');
  });

  it('leaves the URL it was given untouched', () => {
    const url = new URL('http://user:pw@host/');
    describeTarget('GET', url);
    expect(url.href).toBe('http://user:pw@host/');
  });
});

describe('toProxyError', () => {
  function mapped(err: unknown, afterHeaders = false) {
    const result = toProxyError(err, TARGET, afterHeaders);
    expect(result).toBeInstanceOf(ProxyError);
    return result;
  }

  it('returns a ProxyError as it is', () => {
    const err = new ProxyError('HANDOFF_QUEUE_TIMEOUT', 'm');
    expect(toProxyError(err, TARGET, false)).toBe(err);
    expect(toProxyError(err, TARGET, true)).toBe(err);
  });

  it('returns a branded error from another copy as it is', () => {
    const foreign = { [Symbol.for('handoff.ProxyError')]: true, code: 'HANDOFF_CLOSED' };
    expect(toProxyError(foreign, TARGET, false)).toBe(foreign);
  });

  it.each([
    [new errors.ConnectTimeoutError(), 'HANDOFF_CONNECT_TIMEOUT', 504, `Upstream connect timed out: ${TARGET}`],
    [new errors.HeadersTimeoutError(), 'HANDOFF_HEADERS_TIMEOUT', 504, `Upstream sent no headers in time: ${TARGET}`],
    [new errors.BodyTimeoutError(), 'HANDOFF_BODY_TIMEOUT', 504, `Upstream body stalled: ${TARGET}`],
    [
      new errors.RequestContentLengthMismatchError(),
      'HANDOFF_REQUEST_BODY',
      400,
      `Request body does not match its Content-Length: ${TARGET}`,
    ],
    [
      new errors.ResponseContentLengthMismatchError(),
      'HANDOFF_INVALID_RESPONSE',
      502,
      `Upstream body does not match its Content-Length: ${TARGET}`,
    ],
    [new errors.HeadersOverflowError(), 'HANDOFF_INVALID_RESPONSE', 502, `Upstream header block is too large: ${TARGET}`],
    [
      new errors.InvalidArgumentError('invalid header'),
      'HANDOFF_INVALID_OPTIONS',
      500,
      `Invalid upstream request (invalid header): ${TARGET}`,
    ],
  ])('maps undici %p to %s (%d) with the target in the message', (err, code, status, message) => {
    const result = mapped(err);
    expect(result.code).toBe(code);
    expect(result.status).toBe(status);
    expect(result.message).toBe(message);
    expect(result.cause).toBe(err);
  });

  it('maps the undici timeouts by code even after headers (not as a truncation)', () => {
    expect(mapped(new errors.BodyTimeoutError(), true).code).toBe('HANDOFF_BODY_TIMEOUT');
    expect(mapped(new errors.ResponseContentLengthMismatchError(), true).code).toBe('HANDOFF_INVALID_RESPONSE');
  });

  it.each(['bad upgrade', 'bad response'])('maps a SocketError %j (a response nothing asked for) to HANDOFF_INVALID_RESPONSE', (reason) => {
    const err = new errors.SocketError(reason);
    for (const afterHeaders of [false, true]) {
      const result = mapped(err, afterHeaders);
      expect(result.code).toBe('HANDOFF_INVALID_RESPONSE');
      expect(result.message).toBe(`Upstream sent a response the request did not ask for (${reason}): ${TARGET}`);
      expect(result.cause).toBe(err);
    }
  });

  it('maps an HPE_ code to HANDOFF_INVALID_RESPONSE, before or after headers', () => {
    const err = new HTTPParserError('Invalid status code', 'INVALID_STATUS');
    expect(err.code).toBe('HPE_INVALID_STATUS');
    for (const afterHeaders of [false, true]) {
      const result = mapped(err, afterHeaders);
      expect(result.code).toBe('HANDOFF_INVALID_RESPONSE');
      expect(result.message).toBe(`Upstream sent an invalid response (Invalid status code): ${TARGET}`);
    }
    expect(mapped(osError('HPE_CR_EXPECTED', 'Missing expected CR after header value')).code).toBe('HANDOFF_INVALID_RESPONSE');
  });

  it('maps an HTTPParserError without an HPE_ code by its name', () => {
    const err = new HTTPParserError('Response does not match the HTTP/1.1 protocol');
    expect(err.code).toBeUndefined();
    expect(mapped(err).code).toBe('HANDOFF_INVALID_RESPONSE');
    expect(mapped(err, true).code).toBe('HANDOFF_INVALID_RESPONSE');
  });

  it('maps any other failure after the head to HANDOFF_UPSTREAM_TRUNCATED', () => {
    for (const err of [osError('ECONNRESET'), new errors.SocketError('other side closed'), osError('EMFILE'), osError('ECONNREFUSED'), new Error('x')]) {
      const result = mapped(err, true);
      expect(result.code).toBe('HANDOFF_UPSTREAM_TRUNCATED');
      expect(result.status).toBe(502);
      expect(result.message).toBe(`Upstream failed mid-body (${err.message}): ${TARGET}`);
    }
  });

  it.each(['EMFILE', 'ENFILE'])('maps %s to HANDOFF_RESOURCES_EXHAUSTED (503)', (code) => {
    const result = mapped(osError(code));
    expect(result.code).toBe('HANDOFF_RESOURCES_EXHAUSTED');
    expect(result.status).toBe(503);
    expect(result.message).toBe(`Out of file descriptors (${code}): ${TARGET}`);
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT'])(
    'maps %s to HANDOFF_UPSTREAM_UNREACHABLE (502)',
    (code) => {
      const result = mapped(osError(code));
      expect(result.code).toBe('HANDOFF_UPSTREAM_UNREACHABLE');
      expect(result.status).toBe(502);
      expect(result.message).toBe(`Upstream unreachable (${code}): ${TARGET}`);
    },
  );

  it.each([
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'CERT_HAS_EXPIRED',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'HOSTNAME_MISMATCH',
  ])('maps %s to HANDOFF_UPSTREAM_TLS (502)', (code) => {
    const result = mapped(osError(code));
    expect(result.code).toBe('HANDOFF_UPSTREAM_TLS');
    expect(result.message).toBe(`Upstream TLS failed (${code}): ${TARGET}`);
  });

  it.each([
    [osError('ECONNRESET', 'read ECONNRESET')],
    [osError('EPIPE', 'write EPIPE')],
    [new errors.SocketError('other side closed')],
    [new errors.ClientClosedError()],
  ])('maps %p before the head to HANDOFF_UPSTREAM_RESET (502)', (err) => {
    const result = mapped(err);
    expect(result.code).toBe('HANDOFF_UPSTREAM_RESET');
    expect(result.status).toBe(502);
    expect(result.message).toBe(`Upstream closed the connection before responding (${err.message}): ${TARGET}`);
  });

  it('maps the unsolicited messages only for UND_ERR_SOCKET, not for another code', () => {
    expect(mapped(osError('ECONNRESET', 'bad response')).code).toBe('HANDOFF_UPSTREAM_RESET');
  });

  it('falls back to HANDOFF_UPSTREAM_ERROR for an unknown code, no code, or a thrown non-error', () => {
    const unknown = mapped(osError('ESOMETHING', 'odd'));
    expect(unknown.code).toBe('HANDOFF_UPSTREAM_ERROR');
    expect(unknown.message).toBe(`Upstream request failed (odd): ${TARGET}`);
    expect(mapped(new Error('plain')).message).toBe(`Upstream request failed (plain): ${TARGET}`);
    expect(mapped('a string').message).toBe(`Upstream request failed (a string): ${TARGET}`);
    expect(mapped(null).message).toBe(`Upstream request failed (null): ${TARGET}`);
    expect(mapped(undefined).code).toBe('HANDOFF_UPSTREAM_ERROR');
  });

  it('ignores a code that is not a string', () => {
    const err = Object.assign(new Error('numeric'), { code: 104 });
    expect(mapped(err).code).toBe('HANDOFF_UPSTREAM_ERROR');
  });
});
