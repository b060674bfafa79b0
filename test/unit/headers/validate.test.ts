import { checkResponseHead } from '../../../packages/core/src/headers/validate';
import type { ResponseHead } from '../../../packages/core/src/types';

function head(status: number, headers: Record<string, string | string[]> = {}): ResponseHead {
  return { status, headers };
}

describe('checkResponseHead', () => {
  it('accepts a final status with valid fields', () => {
    expect(checkResponseHead(head(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }), null)).toBeNull();
    expect(checkResponseHead(head(599), null)).toBeNull();
  });

  it.each([199, 100, 101, 600, 0, 200.5, NaN])('refuses status %p as not final', (status) => {
    expect(checkResponseHead(head(status), null)).toBe(`status ${String(status)} is not a final status`);
  });

  it('refuses a status that is not a number', () => {
    expect(checkResponseHead({ status: '200' as unknown as number, headers: {} }, null)).toBe('status 200 is not a final status');
  });

  it('refuses headers that are not an object', () => {
    expect(checkResponseHead({ status: 200, headers: null as never }, null)).toBe('headers must be an object');
    expect(checkResponseHead({ status: 200, headers: 'x' as never }, null)).toBe('headers must be an object');
  });

  it('refuses a name that is not a token', () => {
    expect(checkResponseHead(head(200, { 'x y': '1' }), null)).toBe('invalid header name "x y"');
    expect(checkResponseHead(head(200, { 'x\r\ninjected': '1' }), null)).toBe('invalid header name "x\\r\\ninjected"');
  });

  it('refuses a name that is not lower-case', () => {
    expect(checkResponseHead(head(200, { 'X-Id': '1' }), null)).toBe('header name "X-Id" must be lower-case');
  });

  it.each(['connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'proxy-authenticate'])('refuses the hop-by-hop field %s', (name) => {
    expect(checkResponseHead(head(200, { [name]: 'x' }), null)).toBe(
      `hop-by-hop header ${name} cannot be sent; the proxy frames the response itself`,
    );
  });

  it('refuses a value with CR, LF or NUL, alone or in an array', () => {
    expect(checkResponseHead(head(200, { 'x-a': 'a\r\nSet-Cookie: evil' }), null)).toBe(
      'invalid value for header x-a: "a\\r\\nSet-Cookie: evil"',
    );
    expect(checkResponseHead(head(200, { 'x-a': ['ok', 'bad\0'] }), null)).toBe('invalid value for header x-a: "bad\\u0000"');
  });

  it('refuses a value that is not a string', () => {
    expect(checkResponseHead(head(200, { 'x-a': 5 as never }), null)).toBe('invalid value for header x-a: 5');
    expect(checkResponseHead(head(200, { 'x-a': [5] as never }), null)).toBe('invalid value for header x-a: 5');
  });

  it('accepts a content-length equal to the upstream length', () => {
    expect(checkResponseHead(head(200, { 'content-length': '12' }), 12)).toBeNull();
  });

  it('refuses a content-length that differs from the upstream length, or when the upstream had none', () => {
    const message = 'content-length "13" does not match the upstream body; remove it rather than change it';
    expect(checkResponseHead(head(200, { 'content-length': '13' }), 12)).toBe(message);
    expect(checkResponseHead(head(200, { 'content-length': '13' }), null)).toBe(message);
    expect(checkResponseHead(head(200, { 'content-length': '012' }), 12)).toBe(
      'content-length "012" does not match the upstream body; remove it rather than change it',
    );
  });

  it('accepts a head without content-length whatever the upstream length', () => {
    expect(checkResponseHead(head(200), 12)).toBeNull();
  });
});
