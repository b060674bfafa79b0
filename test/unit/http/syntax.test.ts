import { isFieldValue, isOriginForm, isToken } from '../../../packages/core/src/http/syntax';

describe('isToken (RFC 9110 §5.6.2)', () => {
  it.each(['GET', 'x-request-id', 'Content-Type', "!#$%&'*+-.^_`|~", 'a1'])('accepts %j', (value) => {
    expect(isToken(value)).toBe(true);
  });

  it.each(['', 'x y', 'x:y', 'x\r\ny', 'a\tb', '(comment)', 'a"b', 'a,b', 'a/b', 'é', 'x\0'])('refuses %j', (value) => {
    expect(isToken(value)).toBe(false);
  });
});

describe('isFieldValue (RFC 9110 §5.5)', () => {
  it.each(['', 'text/html; charset=utf-8', ' padded ', 'a\tb', '"quoted", list', 'caf\xe9', '~!@#$%^&*()'])('accepts %j', (value) => {
    expect(isFieldValue(value)).toBe(true);
  });

  it.each(['a\rb', 'a\nb', 'a\r\nInjected: 1', 'nul\0', 'bell\x07', 'del\x7f', 'wide\u0100', 'emoji\u{1F600}'])('refuses %j', (value) => {
    expect(isFieldValue(value)).toBe(false);
  });
});

describe('isOriginForm (RFC 9112 §3.2.1)', () => {
  it.each(['/', '/a/b', '/a?b=c&d', '/%2e%2e/x', '/a:b@c', "/!$&'()*+,;=", '/a"b'])('accepts %j', (value) => {
    expect(isOriginForm(value)).toBe(true);
  });

  it.each(['', 'a/b', 'http://host/', '*', '/a#frag', '/a b', '/a\tb', '/a\r\n', '/caf\xe9', '/\x7f'])('refuses %j', (value) => {
    expect(isOriginForm(value)).toBe(false);
  });
});
