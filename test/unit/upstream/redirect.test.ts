import { isRedirect, nextHop, type Hop } from '../../../packages/core/src/upstream/redirect';

const FROM = new URL('http://api.example/v1/items?page=2');

function hop(status: number, location: string, method = 'GET'): Hop {
  const result = nextHop(status, location, FROM, method);
  if (typeof result === 'string') throw new Error(`expected a hop, got ${result}`);
  return result;
}

describe('isRedirect', () => {
  it('holds 301, 302, 303, 307 and 308 only', () => {
    for (const status of [301, 302, 303, 307, 308]) expect(isRedirect(status)).toBe(true);
    for (const status of [300, 304, 305, 306, 200, 404]) expect(isRedirect(status)).toBe(false);
  });
});

describe('nextHop', () => {
  it('resolves a relative Location against the request URL', () => {
    expect(hop(302, 'other').url.href).toBe('http://api.example/v1/other');
    expect(hop(302, '/root?x=1').url.href).toBe('http://api.example/root?x=1');
    expect(hop(302, '//cdn.example/a').url.href).toBe('http://cdn.example/a');
  });

  it('keeps an absolute Location, dropping its fragment', () => {
    expect(hop(301, 'https://other.example/a#section').url.href).toBe('https://other.example/a');
  });

  it.each([301, 302, 303, 307, 308])('keeps GET and says the body goes along for %d', (status) => {
    const { method, keepBody } = hop(status, '/next', 'GET');
    expect(method).toBe('GET');
    expect(keepBody).toBe(status !== 303);
  });

  it('turns any method but HEAD into GET without the body on 303', () => {
    expect(hop(303, '/next', 'POST')).toMatchObject({ method: 'GET', keepBody: false });
    expect(hop(303, '/next', 'PUT')).toMatchObject({ method: 'GET', keepBody: false });
    expect(hop(303, '/next', 'DELETE')).toMatchObject({ method: 'GET', keepBody: false });
    expect(hop(303, '/next', 'HEAD')).toMatchObject({ method: 'HEAD', keepBody: true });
  });

  it('turns POST into GET without the body on 301 and 302, as browsers do', () => {
    expect(hop(301, '/next', 'POST')).toMatchObject({ method: 'GET', keepBody: false });
    expect(hop(302, '/next', 'POST')).toMatchObject({ method: 'GET', keepBody: false });
  });

  it('keeps other methods and their body on 301 and 302', () => {
    expect(hop(301, '/next', 'PUT')).toMatchObject({ method: 'PUT', keepBody: true });
    expect(hop(302, '/next', 'DELETE')).toMatchObject({ method: 'DELETE', keepBody: true });
  });

  it('keeps the method and the body on 307 and 308', () => {
    expect(hop(307, '/next', 'POST')).toMatchObject({ method: 'POST', keepBody: true });
    expect(hop(308, '/next', 'PATCH')).toMatchObject({ method: 'PATCH', keepBody: true });
  });

  it('refuses a Location that is not a URL', () => {
    expect(nextHop(302, 'http://[bad', FROM, 'GET')).toBe('an invalid Location "http://[bad"');
  });

  it.each([
    ['ftp://files.example/x', 'ftp:'],
    ['file:///etc/passwd', 'file:'],
    ['javascript:alert(1)', 'javascript:'],
    ['data:text/plain,hi', 'data:'],
  ])('refuses the scheme of %s', (location, scheme) => {
    expect(nextHop(302, location, FROM, 'GET')).toBe(`a Location with scheme ${scheme}`);
  });

  it('refuses a Location carrying credentials', () => {
    expect(nextHop(302, 'http://user:pw@api.example/', FROM, 'GET')).toBe('a Location carrying credentials');
    expect(nextHop(302, 'http://user@api.example/', FROM, 'GET')).toBe('a Location carrying credentials');
  });
});
