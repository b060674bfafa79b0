import fs from 'node:fs';
import path from 'node:path';
import { hasDotSegment, isAccelBase, isAccelPrefix, resolveOffloadRules } from '../../../packages/core/src/offload/rules';
import { removeDir, tempDir, thrown } from '../helpers';

describe('isAccelPrefix', () => {
  it.each(['/', '/internal/', '/a/b-c_d.e/', '/v1~x/'])('accepts %j', (prefix) => {
    expect(isAccelPrefix(prefix)).toBe(true);
  });

  it.each([
    ['internal/', 'no leading slash'],
    ['/internal', 'no trailing slash'],
    ['', 'empty'],
    ['/a b/', 'whitespace'],
    ['/a\t/', 'a tab'],
    ['/a?/', 'a query'],
    ['/a#/', 'a fragment'],
    ['/a%2e/', 'percent-encoding'],
    ['/a\\b/', 'a backslash'],
    ['/../', 'a dot-dot segment'],
    ['/a/./', 'a dot segment'],
    ['/a\r\n/', 'CR LF'],
  ])('refuses %j (%s)', (prefix) => {
    expect(isAccelPrefix(prefix)).toBe(false);
  });
});

describe('isAccelBase', () => {
  it('holds a base whose path ends with a slash, the bare origin included', () => {
    expect(isAccelBase(new URL('http://files:9000/store/'))).toBe(true);
    expect(isAccelBase(new URL('http://files:9000'))).toBe(true);
  });

  it('refuses a base whose path does not end with a slash', () => {
    expect(isAccelBase(new URL('http://files:9000/store'))).toBe(false);
  });
});

describe('hasDotSegment', () => {
  it('finds . and .. segments split on / and \\', () => {
    for (const value of ['/a/../b', '..', '/a/.', 'a\\..\\b', './a']) expect(hasDotSegment(value)).toBe(true);
  });

  it('reads a percent-encoded dot as a dot, as a WHATWG URL parser does', () => {
    for (const value of ['/a/%2e%2e/b', '/a/.%2E/b', '/a/%2E', '/a/%2e./b']) expect(hasDotSegment(value)).toBe(true);
    for (const value of ['/a/%2e%2eb', '/a/%2f..', '/a/%252e%252e']) expect(hasDotSegment(value)).toBe(false);
  });

  it('does not take dots inside a name for a segment', () => {
    for (const value of ['/a/..b/c', '/a/.hidden', '/a...', '/a/b.c', '']) expect(hasDotSegment(value)).toBe(false);
  });
});

describe('resolveOffloadRules', () => {
  it('orders the accel routes longest prefix first', () => {
    const rules = resolveOffloadRules({ accel: { '/a/': 'http://one/', '/a/b/c/': 'http://three/', '/a/b/': 'http://two/' } });
    expect(rules.accel.map((route) => route.prefix)).toEqual(['/a/b/c/', '/a/b/', '/a/']);
    expect(rules.accel[0]!.base.href).toBe('http://three/');
  });

  it('defaults to no allow-list, no routes, no roots and no redirects', () => {
    const rules = resolveOffloadRules({});
    expect(rules).toMatchObject({ allow: undefined, accel: [], roots: [], followRedirects: 0 });
  });

  describe('sendfileRoots', () => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir();
      fs.mkdirSync(path.join(dir, 'real'));
      fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    });
    afterAll(() => removeDir(dir));

    it('keeps each root as configured (made absolute) and its realpath', () => {
      const rules = resolveOffloadRules({ sendfileRoots: [path.join(dir, 'link'), path.join(dir, 'real', '..', 'real')] });
      expect(rules.roots).toEqual([
        { path: path.join(dir, 'link'), real: path.join(dir, 'real') },
        { path: path.join(dir, 'real'), real: path.join(dir, 'real') },
      ]);
    });

    it('refuses a root that does not exist, naming the option', () => {
      const missing = path.join(dir, 'missing');
      const err = thrown(() => resolveOffloadRules({ sendfileRoots: [missing] }));
      expect(err).toMatchObject({
        code: 'HANDOFF_INVALID_OPTIONS',
        option: 'offload.sendfileRoots',
        message: `offload.sendfileRoots entry ${missing} is not an existing directory`,
      });
    });

    it.each([[''], ['a\0b'], [5]])('refuses the entry %p', (entry) => {
      const err = thrown(() => resolveOffloadRules({ sendfileRoots: [entry as string] }));
      expect(err).toMatchObject({ option: 'offload.sendfileRoots', message: `offload.sendfileRoots holds an invalid path: ${JSON.stringify(entry)}` });
    });
  });

  it.each<[string, object]>([
    ['offload.accel', { accel: { internal: 'http://files/' } }],
    ['offload.accel', { accel: ['/i/'] }],
    ['offload.accel', { accel: { '/i/': 'http://files/?q=1' } }],
    ['offload.keepHeaders', { keepHeaders: ['etag'] }],
    ['offload.keepHeaders', { keepHeaders: 'vary' }],
    ['offload.followRedirects', { followRedirects: 1.5 }],
    ['offload.allow', { allow: 'https://x' }],
    ['offload.sendfileRoots', { sendfileRoots: '/tmp' }],
  ])('names %s when it is wrong (%j)', (option, rules) => {
    expect(thrown(() => resolveOffloadRules(rules as never))).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', option });
  });
});
