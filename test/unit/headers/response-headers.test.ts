import { parseUpstreamHead } from '../../../packages/core/src/headers/response-headers';
import { checkResponseHead } from '../../../packages/core/src/headers/validate';

describe('parseUpstreamHead', () => {
  it('keeps end-to-end fields as they are, with repeats as arrays', () => {
    const head = parseUpstreamHead({
      'content-type': 'text/plain',
      'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'],
      'cache-control': 'max-age=60',
    });
    expect(head.headers).toEqual({
      'content-type': 'text/plain',
      'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'],
      'cache-control': 'max-age=60',
    });
    expect(head.problem).toBeNull();
    expect(head.contentLength).toBeNull();
  });

  it('skips fields whose value is undefined', () => {
    expect(parseUpstreamHead({ 'x-a': undefined, 'x-b': 'b' }).headers).toEqual({ 'x-b': 'b' });
  });

  it('removes the hop-by-hop fields, proxy-* included', () => {
    const head = parseUpstreamHead({
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      trailer: 'x-checksum',
      upgrade: 'h2c',
      'proxy-authenticate': 'Basic',
      'proxy-connection': 'keep-alive',
      'http2-settings': 'AAMAAABkAAQAAP__',
      'x-kept': 'yes',
    });
    expect(head.headers).toEqual({ 'x-kept': 'yes' });
    expect(head.problem).toBeNull();
  });

  it('removes every field named in Connection, from each of its values', () => {
    const head = parseUpstreamHead({
      connection: ['close, X-Internal', 'x-debug'],
      'x-internal': 'secret',
      'x-debug': '1',
      'x-public': 'ok',
    });
    expect(head.headers).toEqual({ 'x-public': 'ok' });
  });

  it('drops a content-length that Connection names, and then reports no length', () => {
    const head = parseUpstreamHead({ connection: 'content-length', 'content-length': '5' });
    expect(head.headers).toEqual({});
    expect(head.contentLength).toBeNull();
    expect(head.problem).toBeNull();
  });

  describe('content-length', () => {
    it('is kept and parsed when it is digits only', () => {
      const head = parseUpstreamHead({ 'content-length': '1234' });
      expect(head).toEqual({ headers: { 'content-length': '1234' }, contentLength: 1234, problem: null });
    });

    it('accepts 0', () => {
      expect(parseUpstreamHead({ 'content-length': '0' }).contentLength).toBe(0);
    });

    it('accepts repeats of the same value, collapsed to one', () => {
      const head = parseUpstreamHead({ 'content-length': ['42', '42', '42'] });
      expect(head).toEqual({ headers: { 'content-length': '42' }, contentLength: 42, problem: null });
    });

    it('reports differing repeats as a problem, with no length', () => {
      const head = parseUpstreamHead({ 'content-length': ['42', '43'] });
      expect(head.problem).toBe('invalid content-length "43"');
      expect(head.contentLength).toBeNull();
    });

    it.each(['-1', '+5', '1.0', '0x10', '5 ', '', 'abc', '1,1'])('reports %j as a problem', (value) => {
      const head = parseUpstreamHead({ 'content-length': value });
      expect(head.problem).toBe(`invalid content-length ${JSON.stringify(value)}`);
      expect(head.contentLength).toBeNull();
    });

    // RFC 9110 §8.6: Content-Length = 1*DIGIT, so "007" is valid. The relay later checks the head
    // with checkResponseHead(head, contentLength), which wants the field to equal String(7):
    // an upstream "Content-Length: 007" is answered 502 HANDOFF_INVALID_HEADER.
    it('gives a head that checkResponseHead accepts for a length with leading zeros', () => {
      const head = parseUpstreamHead({ 'content-length': '007' });
      expect(head.problem).toBeNull();
      expect(head.contentLength).toBe(7);
      expect(checkResponseHead({ status: 200, headers: head.headers }, head.contentLength)).toBeNull();
    });

    it('gives a head that checkResponseHead accepts for a plain length', () => {
      const head = parseUpstreamHead({ 'content-length': '7', 'content-type': 'text/plain' });
      expect(checkResponseHead({ status: 200, headers: head.headers }, head.contentLength)).toBeNull();
    });

    it('reports the first bad value among repeats', () => {
      expect(parseUpstreamHead({ 'content-length': ['x', 'y'] }).problem).toBe('invalid content-length "x"');
    });
  });

  describe('transfer-encoding', () => {
    it('accepts a single chunked, in any case and padding, and never relays the field', () => {
      for (const value of ['chunked', ' Chunked ', 'CHUNKED']) {
        const head = parseUpstreamHead({ 'transfer-encoding': value, 'x-a': '1' });
        expect(head).toEqual({ headers: { 'x-a': '1' }, contentLength: null, problem: null });
      }
    });

    it('accepts chunked delivered as a one-element array', () => {
      expect(parseUpstreamHead({ 'transfer-encoding': ['chunked'] }).problem).toBeNull();
    });

    it.each(['gzip', 'gzip, chunked', 'chunked, chunked', 'identity', ''])('reports the coding %j as unsupported', (value) => {
      expect(parseUpstreamHead({ 'transfer-encoding': value }).problem).toBe(`unsupported transfer-encoding ${JSON.stringify(value)}`);
    });

    it('joins repeated fields before checking them', () => {
      expect(parseUpstreamHead({ 'transfer-encoding': ['gzip', 'chunked'] }).problem).toBe('unsupported transfer-encoding "gzip,chunked"');
      expect(parseUpstreamHead({ 'transfer-encoding': ['chunked', 'chunked'] }).problem).toBe(
        'unsupported transfer-encoding "chunked,chunked"',
      );
    });

    it('drops the content-length when both framings are present (RFC 9112 §6.3)', () => {
      const head = parseUpstreamHead({ 'transfer-encoding': 'chunked', 'content-length': '10', 'x-a': '1' });
      expect(head).toEqual({ headers: { 'x-a': '1' }, contentLength: null, problem: null });
    });

    it('drops the content-length and reports the coding when it is not chunked', () => {
      const head = parseUpstreamHead({ 'transfer-encoding': 'gzip', 'content-length': '10' });
      expect(head.headers).toEqual({});
      expect(head.contentLength).toBeNull();
      expect(head.problem).toBe('unsupported transfer-encoding "gzip"');
    });

    it('reports a bad content-length before the coding', () => {
      const head = parseUpstreamHead({ 'content-length': 'x', 'transfer-encoding': 'gzip' });
      expect(head.problem).toBe('invalid content-length "x"');
    });
  });
});
