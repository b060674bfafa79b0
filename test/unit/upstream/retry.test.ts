import { Readable } from 'node:stream';
import { errors } from 'undici';
import { retryable } from '../../../packages/core/src/upstream/retry';
import { upstreamRequest } from '../helpers';

const URL_A = new URL('http://a.example/');

function reset(message = 'read ECONNRESET'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

describe('retryable', () => {
  const get = upstreamRequest({ url: URL_A });

  it('retries a reset of a GET once: after the first attempt, not after the second', () => {
    expect(retryable(reset(), 1, get)).toBe(true);
    expect(retryable(reset(), 2, get)).toBe(false);
  });

  it("retries undici's SocketError (the stale keep-alive race)", () => {
    expect(retryable(new errors.SocketError('other side closed'), 1, get)).toBe(true);
  });

  it('does not retry other failures, or an error without a code', () => {
    for (const err of [
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('x'), { code: 'EPIPE' }),
      new errors.HeadersTimeoutError(),
      new errors.ConnectTimeoutError(),
      new Error('no code'),
    ]) {
      expect(retryable(err, 1, get)).toBe(false);
    }
  });

  it.each(['bad upgrade', 'bad response'])('never retries an unsolicited response (%s)', (message) => {
    expect(retryable(new errors.SocketError(message), 1, get)).toBe(false);
  });

  it.each(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])('retries the idempotent method %s', (method) => {
    expect(retryable(reset(), 1, upstreamRequest({ url: URL_A, method }))).toBe(true);
  });

  it.each(['POST', 'PATCH'])('does not retry %s without an Idempotency-Key', (method) => {
    expect(retryable(reset(), 1, upstreamRequest({ url: URL_A, method }))).toBe(false);
  });

  it('retries a POST that carries an Idempotency-Key', () => {
    const post = upstreamRequest({ url: URL_A, method: 'POST', headers: { 'idempotency-key': 'k-1' }, body: '{"a":1}' });
    expect(retryable(reset(), 1, post)).toBe(true);
  });

  it('retries with a body it can send again: none, a string or bytes', () => {
    expect(retryable(reset(), 1, upstreamRequest({ url: URL_A, method: 'PUT', body: 'text' }))).toBe(true);
    expect(retryable(reset(), 1, upstreamRequest({ url: URL_A, method: 'PUT', body: new Uint8Array([1, 2]) }))).toBe(true);
    expect(retryable(reset(), 1, upstreamRequest({ url: URL_A, method: 'PUT', body: Buffer.from('b') }))).toBe(true);
  });

  it('never retries a streamed body, which cannot be sent again', () => {
    const stream = Readable.from([Buffer.from('x')]);
    expect(retryable(reset(), 1, upstreamRequest({ url: URL_A, method: 'PUT', body: stream }))).toBe(false);
    const post = upstreamRequest({ url: URL_A, method: 'POST', headers: { 'idempotency-key': 'k' }, body: stream });
    expect(retryable(reset(), 1, post)).toBe(false);
    stream.destroy();
  });
});
