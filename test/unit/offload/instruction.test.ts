import fs from 'node:fs';
import path from 'node:path';
import { ProxyError } from '../../../packages/core/src/errors';
import {
  applyKeptHeaders,
  hasOffloadInstruction,
  keptHeaders,
  readInstruction,
  readLimitRate,
  stripOffloadHeaders,
} from '../../../packages/core/src/offload/instruction';
import { resolveOffloadRules, type OffloadRules } from '../../../packages/core/src/offload/rules';
import { removeDir, tempDir, thrown } from '../helpers';

type Headers = Record<string, string | string[]>;

const WHERE = 'GET http://app.test/download';

function read(headers: Headers, rules: OffloadRules) {
  return readInstruction(headers, resolveOffloadRules(rules), WHERE);
}

/** What readInstruction throws for these headers: its code and message. */
function refusal(headers: Headers, rules: OffloadRules): { code: string | undefined; message: string } {
  const err = thrown(() => read(headers, rules));
  expect(err).toBeInstanceOf(ProxyError);
  return { code: err.code, message: err.message };
}

const INVALID = 'HANDOFF_OFFLOAD_INVALID';
const FORBIDDEN = 'HANDOFF_OFFLOAD_FORBIDDEN';

describe('readInstruction', () => {
  it('is null for a head without an instruction (Offload-Url alone is not one)', () => {
    expect(read({ 'content-type': 'text/plain', 'offload-url': 'https://files.example/a' }, { allow: ['https://files.example'] })).toBeNull();
    expect(read({}, {})).toBeNull();
  });

  it('refuses two instructions at once, naming them', () => {
    const rules = { allow: ['https://files.example'], accel: { '/i/': 'http://files/' } };
    expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'x-accel-redirect': '/i/a' }, rules)).toEqual({
      code: INVALID,
      message: `${WHERE} sent conflicting offload instructions: Offload-Requested and X-Accel-Redirect`,
    });
    expect(refusal({ 'offload-requested': '1', 'x-accel-redirect': '/i/a', 'x-sendfile': '/x' }, rules).message).toBe(
      `${WHERE} sent conflicting offload instructions: Offload-Requested and X-Accel-Redirect and X-Sendfile`,
    );
    expect(refusal({ 'x-accel-redirect': '/i/a', 'x-sendfile': '/x' }, rules).message).toBe(
      `${WHERE} sent conflicting offload instructions: X-Accel-Redirect and X-Sendfile`,
    );
  });

  describe('Offload-Requested', () => {
    const rules: OffloadRules = { allow: ['https://files.example'] };

    it('reads the Offload-Url, trimmed, with GET and no body by default', () => {
      const instruction = read({ 'offload-requested': 'true', 'offload-url': '  https://files.example/a/b?x=1#frag ' }, rules);
      expect(instruction).toEqual({ kind: 'url', url: new URL('https://files.example/a/b?x=1'), method: 'GET', headers: {}, forwardBody: false });
    });

    it.each([
      ['head', 'HEAD'],
      [' post ', 'POST'],
      ['GET', 'GET'],
    ])('reads Offload-Method %j as %s', (value, method) => {
      const instruction = read({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'offload-method': value }, rules);
      expect(instruction).toMatchObject({ kind: 'url', method });
    });

    it.each(['PUT', 'DELETE', 'G ET'])('refuses Offload-Method %j', (value) => {
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'offload-method': value }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} sent Offload-Method ${JSON.stringify(value)}; allowed: GET, HEAD, POST`,
      });
    });

    it('forwards the body with Offload-Forward-Body and POST', () => {
      const headers = { 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'offload-method': 'POST', 'offload-forward-body': '1' };
      expect(read(headers, rules)).toMatchObject({ method: 'POST', forwardBody: true });
    });

    it('refuses Offload-Forward-Body with a method other than POST', () => {
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'offload-forward-body': '1' }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} asked to forward its body with Offload-Method GET; a body needs POST`,
      });
    });

    it('turns Offload-X-* into the target request headers, repeats kept', () => {
      const instruction = read(
        {
          'offload-requested': '1',
          'offload-url': 'https://files.example/a',
          'offload-x-authorization': 'Bearer t',
          'offload-x-accept': ['a', 'b'],
          'offload-method': 'GET',
        },
        rules,
      );
      expect(instruction).toMatchObject({ headers: { authorization: 'Bearer t', accept: ['a', 'b'] } });
    });

    it.each(['host', 'content-length', 'expect', 'connection', 'transfer-encoding', 'proxy-authorization', 'offload-url', 'x-accel-redirect', 'x-sendfile'])(
      'refuses Offload-X-%s, which the proxy sets or which belongs to one connection',
      (name) => {
        expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', [`offload-x-${name}`]: 'v' }, rules)).toEqual({
          code: INVALID,
          message: `${WHERE} may not set the upstream header ${name}: the proxy sets it, or it belongs to one connection`,
        });
      },
    );

    it('refuses Offload-X- without a name', () => {
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'offload-x-': 'v' }, rules).message).toBe(
        `${WHERE} named an invalid upstream header: ""`,
      );
    });

    it('refuses an Offload-X-* value with CR or LF', () => {
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'offload-x-token': ['ok', 'a\r\nb'] }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} gave upstream header token an invalid value (CR, LF, NUL or not text): "a\\r\\nb"`,
      });
    });

    it('refuses Offload-Requested without an Offload-Url, or with a blank one', () => {
      const message = `${WHERE} sent Offload-Requested without an Offload-Url`;
      expect(refusal({ 'offload-requested': '1' }, rules)).toEqual({ code: INVALID, message });
      expect(refusal({ 'offload-requested': '1', 'offload-url': '   ' }, rules)).toEqual({ code: INVALID, message });
    });

    it('refuses a repeated Offload-Url or Offload-Method', () => {
      expect(refusal({ 'offload-requested': '1', 'offload-url': ['https://files.example/a', 'https://files.example/b'] }, rules).message).toBe(
        `${WHERE} sent offload-url 2 times`,
      );
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a', 'offload-method': ['GET', 'POST'] }, rules).message).toBe(
        `${WHERE} sent offload-method 2 times`,
      );
    });

    it('takes a one-element array as the single value', () => {
      expect(read({ 'offload-requested': '1', 'offload-url': ['https://files.example/a'] }, rules)).toMatchObject({ kind: 'url' });
    });

    it('refuses an Offload-Url that is not absolute, not http(s), or has control characters', () => {
      expect(refusal({ 'offload-requested': '1', 'offload-url': '/relative' }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} sent an Offload-Url that is not an absolute URL: "/relative"`,
      });
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'file:///etc/passwd' }, rules).message).toBe(
        `${WHERE} sent an Offload-Url with scheme file:; only http: and https: are allowed`,
      );
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a\0' }, rules).message).toBe(
        `${WHERE} sent an Offload-Url with control characters`,
      );
    });

    it('refuses an Offload-Url with credentials without echoing them', () => {
      const { code, message } = refusal({ 'offload-requested': '1', 'offload-url': 'https://user:hunter2@files.example/a' }, rules);
      expect(code).toBe(INVALID);
      expect(message).toBe(`${WHERE} sent an Offload-Url carrying credentials; pass an Authorization header instead`);
      expect(message).not.toContain('hunter2');
    });

    it('refuses every Offload-Url when offload.allow is not set', () => {
      expect(refusal({ 'offload-requested': '1', 'offload-url': 'https://files.example/a' }, {})).toEqual({
        code: 'HANDOFF_TARGET_FORBIDDEN',
        message: 'Offload-Url targets are not allowed (offload.allow is not set): GET https://files.example/a',
      });
    });

    it('refuses an origin offload.allow does not list, keeping the cause', () => {
      const err = thrown(() => read({ 'offload-requested': '1', 'offload-url': 'https://evil.example/a', 'offload-method': 'post' }, rules));
      expect(err).toMatchObject({
        code: 'HANDOFF_TARGET_FORBIDDEN',
        message: 'Offload-Url refused by offload.allow (Upstream origin https://evil.example is not in the allow-list: POST https://evil.example/a)',
      });
      expect(err.cause).toBeInstanceOf(ProxyError);
    });
  });

  describe('X-Accel-Redirect', () => {
    // Declared shortest first: the longest prefix must still win.
    const rules: OffloadRules = {
      accel: { '/internal/': 'http://files:9000/store/', '/internal/big/': 'http://big:9001/', '/dl/': 'https://cdn.example/' },
    };
    const accel = (value: string) => read({ 'x-accel-redirect': value }, rules);
    const accelUrl = (value: string) => {
      const instruction = accel(value);
      if (instruction?.kind !== 'accel') throw new Error(`expected an accel instruction for ${value}`);
      return instruction.url.href;
    };

    it('replaces the prefix by its base', () => {
      expect(accel('/internal/a/b.txt')).toEqual({ kind: 'accel', url: new URL('http://files:9000/store/a/b.txt') });
      expect(accelUrl('/dl/x.zip')).toBe('https://cdn.example/x.zip');
      expect(accelUrl('/internal/')).toBe('http://files:9000/store/');
    });

    it('matches the longest prefix first', () => {
      expect(accelUrl('/internal/big/file.iso')).toBe('http://big:9001/file.iso');
      expect(accelUrl('/internal/bigger')).toBe('http://files:9000/store/bigger');
    });

    it('keeps the query and drops the fragment', () => {
      expect(accelUrl('/internal/a?x=1&y=%20')).toBe('http://files:9000/store/a?x=1&y=%20');
      expect(accelUrl('/internal/a?x=1#frag')).toBe('http://files:9000/store/a?x=1');
      expect(accelUrl('/internal/a#frag?x=1')).toBe('http://files:9000/store/a');
    });

    it('keeps percent-encoding as sent', () => {
      expect(accelUrl('/internal/a%20b/c%2Fd')).toBe('http://files:9000/store/a%20b/c%2Fd');
    });

    it('refuses a value when no prefixes are configured', () => {
      expect(refusal({ 'x-accel-redirect': '/internal/a' }, {})).toEqual({
        code: INVALID,
        message: `${WHERE} sent X-Accel-Redirect, but no offload.accel prefixes are configured`,
      });
    });

    it.each(['internal/a', 'http://files:9000/store/a', '', '/internal/a\r\nx'])('refuses %j, which is not a path starting with /', (value) => {
      expect(refusal({ 'x-accel-redirect': value }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} sent X-Accel-Redirect ${JSON.stringify(value)}; it must be a path starting with '/'`,
      });
    });

    it.each(['/internal/%zz', '/internal/%E0%A4%A', '/internal/%'])('refuses the invalid percent-encoding of %j', (value) => {
      expect(refusal({ 'x-accel-redirect': value }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} sent X-Accel-Redirect with invalid percent-encoding: ${JSON.stringify(value)}`,
      });
    });

    it.each([
      '/internal/../secret',
      '/internal/a/..',
      '/internal/./a',
      '/internal/%2e%2e/secret',
      '/internal/%2E%2E/secret',
      '/internal/..%2fsecret',
      '/internal/a\\..\\b',
      '/internal/a%5cb',
      '/internal/a%00b',
      '//evil.example/internal/a',
    ])('refuses %j, which tries to leave its location', (value) => {
      expect(refusal({ 'x-accel-redirect': value }, rules)).toEqual({
        code: FORBIDDEN,
        message: `${WHERE} sent X-Accel-Redirect ${JSON.stringify(value)}, which tries to leave its location (dot segments, backslashes or NUL)`,
      });
    });

    it('refuses a path that matches no prefix', () => {
      expect(refusal({ 'x-accel-redirect': '/internal' }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} sent X-Accel-Redirect "/internal", which matches no offload.accel prefix`,
      });
    });

    it('refuses a path the URL parser would take out of the base (a dot segment hidden by a tab)', () => {
      // WHATWG URL parsing drops tabs, so ".\t." becomes ".." only after the dot-segment check.
      expect(refusal({ 'x-accel-redirect': '/internal/.\t./secret' }, rules)).toEqual({
        code: FORBIDDEN,
        message: `${WHERE} sent X-Accel-Redirect "/internal/.\\t./secret", which leaves http://files:9000/store/`,
      });
    });

    it('refuses a repeated X-Accel-Redirect', () => {
      expect(refusal({ 'x-accel-redirect': ['/internal/a', '/internal/b'] }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} sent x-accel-redirect 2 times`,
      });
    });

    it('shortens a long value it quotes', () => {
      const value = `internal/${'a'.repeat(500)}`;
      const { message } = refusal({ 'x-accel-redirect': value }, rules);
      expect(message).toBe(`${WHERE} sent X-Accel-Redirect ${JSON.stringify(value).slice(0, 200)}…; it must be a path starting with '/'`);
    });
  });

  describe('X-Sendfile', () => {
    let root: string;
    let other: string;
    let rules: OffloadRules;

    beforeAll(() => {
      root = tempDir();
      other = tempDir();
      fs.mkdirSync(path.join(root, 'sub'));
      rules = { sendfileRoots: [root, other] };
    });

    afterAll(() => {
      removeDir(root);
      removeDir(other);
    });

    it('reads an absolute path inside a root, normalised, with that root', () => {
      const resolved = resolveOffloadRules(rules);
      expect(read({ 'x-sendfile': `${root}/sub/file.bin` }, rules)).toEqual({ kind: 'sendfile', path: `${root}/sub/file.bin`, root: resolved.roots[0] });
      expect(read({ 'x-sendfile': `${root}//sub///file.bin` }, rules)).toMatchObject({ path: `${root}/sub/file.bin` });
      expect(read({ 'x-sendfile': `${other}/b.txt` }, rules)).toMatchObject({ root: resolved.roots[1] });
    });

    it('refuses a value when no roots are configured', () => {
      expect(refusal({ 'x-sendfile': `${root}/a` }, {})).toEqual({
        code: INVALID,
        message: `${WHERE} sent X-Sendfile, but no offload.sendfileRoots are configured`,
      });
    });

    it('refuses a relative path', () => {
      expect(refusal({ 'x-sendfile': 'sub/file.bin' }, rules)).toEqual({
        code: INVALID,
        message: `${WHERE} sent X-Sendfile "sub/file.bin"; it must be an absolute path`,
      });
    });

    it.each(['/../etc/passwd', '/sub/../../etc/passwd', '/./file', '/sub/..'])('refuses the dot segments of <root>%s', (suffix) => {
      const value = `${root}${suffix}`;
      expect(refusal({ 'x-sendfile': value }, rules)).toEqual({
        code: FORBIDDEN,
        message: `${WHERE} sent X-Sendfile ${JSON.stringify(value)} with '.' or '..' segments`,
      });
    });

    it('refuses a path outside every root, the root itself, and a sibling sharing its name as a prefix', () => {
      for (const value of ['/etc/passwd', root, `${root}-evil/file`]) {
        expect(refusal({ 'x-sendfile': value }, rules)).toEqual({
          code: FORBIDDEN,
          message: `${WHERE} sent X-Sendfile ${JSON.stringify(value)}, which is outside every offload.sendfileRoots entry`,
        });
      }
    });

    it('refuses NUL and other control characters', () => {
      for (const value of [`${root}/a\0.txt`, `${root}/a\r\n.txt`]) {
        expect(refusal({ 'x-sendfile': value }, rules)).toEqual({ code: FORBIDDEN, message: `${WHERE} sent X-Sendfile with control characters` });
      }
    });

    it('refuses a repeated X-Sendfile', () => {
      expect(refusal({ 'x-sendfile': [`${root}/a`, `${root}/b`] }, rules).message).toBe(`${WHERE} sent x-sendfile 2 times`);
    });
  });
});

describe('hasOffloadInstruction', () => {
  it('sees Offload-Requested, X-Accel-Redirect or X-Sendfile in any name case', () => {
    expect(hasOffloadInstruction({ 'Offload-Requested': '1' })).toBe(true);
    expect(hasOffloadInstruction({ 'X-Accel-Redirect': '/i/a' })).toBe(true);
    expect(hasOffloadInstruction({ 'x-sendfile': '/a' })).toBe(true);
  });

  it('ignores other instruction headers and undefined values', () => {
    expect(hasOffloadInstruction({ 'offload-url': 'http://x/', 'x-accel-limit-rate': '10', 'x-sendfile-type': 'X-Sendfile' })).toBe(false);
    expect(hasOffloadInstruction({ 'x-accel-redirect': undefined })).toBe(false);
  });
});

describe('stripOffloadHeaders', () => {
  it('removes every instruction header and keeps the rest', () => {
    const headers: Record<string, unknown> = { 'offload-url': 'u', 'x-accel-buffering': 'no', 'x-sendfile': '/a', vary: 'accept', etag: '"1"' };
    stripOffloadHeaders(headers);
    expect(headers).toEqual({ vary: 'accept', etag: '"1"' });
  });
});

describe('readLimitRate', () => {
  it('is undefined without X-Accel-Limit-Rate', () => {
    expect(readLimitRate({}, WHERE)).toBeUndefined();
  });

  it.each([
    ['1024', 1024],
    [' 2048 ', 2048],
    ['0', 0],
    ['off', 0],
    ['OFF', 0],
    ['999999999999999', 999_999_999_999_999],
  ])('reads %j as %d bytes per second', (value, rate) => {
    expect(readLimitRate({ 'x-accel-limit-rate': value }, WHERE)).toBe(rate);
  });

  it.each(['1k', '-1', '1.5', '', 'fast', '1000000000000000'])('refuses %j', (value) => {
    const err = thrown(() => readLimitRate({ 'x-accel-limit-rate': value }, WHERE));
    expect(err).toMatchObject({
      code: INVALID,
      message: `${WHERE} sent X-Accel-Limit-Rate ${JSON.stringify(value)}; it must be bytes per second or 'off'`,
    });
  });

  it('refuses a repeated value', () => {
    expect(thrown(() => readLimitRate({ 'x-accel-limit-rate': ['1', '2'] }, WHERE)).message).toBe(`${WHERE} sent x-accel-limit-rate 2 times`);
  });
});

describe('keptHeaders', () => {
  const HANDLER_HEAD: Headers = {
    'set-cookie': ['a=1', 'b=2'],
    'cache-control': 'private',
    expires: '0',
    'content-disposition': 'attachment; filename="r.pdf"',
    vary: 'Cookie',
    'content-type': 'text/html',
    'content-length': '0',
    etag: '"handler"',
    'x-accel-redirect': '/internal/r.pdf',
    'x-app': '1',
  };

  it('keeps by default what the app decides about the response', () => {
    expect(keptHeaders(HANDLER_HEAD, resolveOffloadRules({}))).toEqual({
      'set-cookie': ['a=1', 'b=2'],
      'cache-control': 'private',
      expires: '0',
      'content-disposition': 'attachment; filename="r.pdf"',
      vary: 'Cookie',
    });
  });

  it('is undefined when nothing is kept', () => {
    expect(keptHeaders({ 'content-type': 'text/html' }, resolveOffloadRules({}))).toBeUndefined();
  });

  it('keeps exactly the names configured', () => {
    expect(keptHeaders(HANDLER_HEAD, resolveOffloadRules({ keepHeaders: ['X-App', 'content-type'] }))).toEqual({ 'x-app': '1', 'content-type': 'text/html' });
  });

  it("lets a predicate keep neither the handler's body fields nor instruction headers", () => {
    expect(keptHeaders(HANDLER_HEAD, resolveOffloadRules({ keepHeaders: () => true }))).toEqual({
      'set-cookie': ['a=1', 'b=2'],
      'cache-control': 'private',
      expires: '0',
      'content-disposition': 'attachment; filename="r.pdf"',
      vary: 'Cookie',
      'content-type': 'text/html',
      'x-app': '1',
    });
  });
});

describe('applyKeptHeaders', () => {
  it('does nothing without kept headers', () => {
    const into: Headers = { 'content-type': 'image/png' };
    applyKeptHeaders(into, undefined);
    expect(into).toEqual({ 'content-type': 'image/png' });
  });

  it("puts the kept headers over the target's", () => {
    const into: Headers = { 'cache-control': 'public, max-age=3600', 'content-type': 'image/png' };
    applyKeptHeaders(into, { 'cache-control': 'private', 'set-cookie': ['a=1'] });
    expect(into).toEqual({ 'cache-control': 'private', 'content-type': 'image/png', 'set-cookie': ['a=1'] });
  });

  it('merges Vary tokens from both, once each, ignoring case and empty elements', () => {
    const into: Headers = { vary: 'Accept-Encoding, ,Origin' };
    applyKeptHeaders(into, { vary: ['Cookie', 'accept-encoding'] });
    expect(into.vary).toBe('accept-encoding, Origin, Cookie');
  });

  it('sets Vary as kept when the target has none', () => {
    const into: Headers = {};
    applyKeptHeaders(into, { vary: 'Cookie' });
    expect(into.vary).toBe('Cookie');
  });
});
