import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ProxyError, validateOffloadRules, type OffloadRules } from '@handoff/core';
import { offload } from '@handoff/koa';
import { resolveOffloadRules } from '../../packages/core/src/offload/rules';
import { request } from '../helpers/client';
import { engineGateway } from '../helpers/engine-gateway';

describe('offload rules are validated where they enter, with messages that say what is allowed', () => {
  const file = path.join(os.tmpdir(), `handoff-not-a-dir-${process.pid}`);
  beforeAll(() => fs.writeFileSync(file, 'x'));
  afterAll(() => fs.rmSync(file, { force: true }));

  it.each<[string, () => OffloadRules, string]>([
    ['allow of the wrong type', () => ({ allow: 'https://x' as never }), 'offload.allow must be an array of origins or a function'],
    ['an allow entry with a path', () => ({ allow: ['https://x.example/files'] }), "offload.allow entries must be bare http(s) origins"],
    ['an accel prefix without slashes', () => ({ accel: { internal: 'http://files/' } }), 'offload.accel prefix "internal" must be a plain path'],
    ['an accel prefix with dot segments', () => ({ accel: { '/a/../': 'http://files/' } }), 'offload.accel prefix "/a/../"'],
    ['an accel target that is not a URL', () => ({ accel: { '/i/': 'files:9000' } }), 'must be an http(s) URL'],
    ['an accel target with credentials', () => ({ accel: { '/i/': 'http://u:p@files/' } }), 'must be an http(s) URL without credentials'],
    ['an accel target not ending in /', () => ({ accel: { '/i/': 'http://files/store' } }), "must end with '/'"],
    ['a missing sendfile root', () => ({ sendfileRoots: ['/nonexistent/handoff/root'] }), 'offload.sendfileRoots entry /nonexistent/handoff/root is not an existing directory'],
    ['a sendfile root that is a file', () => ({ sendfileRoots: [file] }), 'is not an existing directory'],
    ['the filesystem root', () => ({ sendfileRoots: ['/'] }), 'may not hold the filesystem root'],
    ['keepHeaders naming content-length', () => ({ keepHeaders: ['content-length'] }), 'offload.keepHeaders may not keep content-length'],
    ['keepHeaders naming a hop-by-hop field', () => ({ keepHeaders: ['connection'] }), 'may not keep connection'],
    ['keepHeaders with an invalid name', () => ({ keepHeaders: ['x y'] }), 'offload.keepHeaders holds an invalid header name: "x y"'],
    ['a negative followRedirects', () => ({ followRedirects: -1 }), 'offload.followRedirects must be an integer >= 0, got -1'],
  ])('%s', (_what, rules, message) => {
    let thrown: unknown;
    try {
      validateOffloadRules(rules());
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProxyError);
    expect(thrown).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', message: expect.stringContaining(message) });
    expect(() => offload(rules())).toThrow(message);
  });

  it('resolves a rules object once and reuses the result', () => {
    const rules: OffloadRules = { accel: { '/i/': 'http://files/' } };
    expect(resolveOffloadRules(rules)).toBe(resolveOffloadRules(rules));
  });

  it('proxy.fetch throws HANDOFF_INVALID_OPTIONS for invalid rules before touching the response', async () => {
    let thrown: unknown;
    const gw = await engineGateway(({ res, fetch }) => {
      try {
        fetch('http://127.0.0.1:9/', { offload: { accel: { internal: 'http://x/' } } });
      } catch (err) {
        thrown = err;
        res.statusCode = 599;
        res.end();
      }
    });
    try {
      expect((await request(gw.url)).status).toBe(599);
      expect(thrown).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', message: expect.stringContaining('offload.accel prefix "internal"') });
    } finally {
      await gw.close();
    }
  });

  it('proxy.offload throws for a response that carries no instruction, and destroys its body', async () => {
    let thrown: unknown;
    const body = new Readable({ read() {} });
    const gw = await engineGateway(({ res, offload }) => {
      try {
        offload({ headers: { 'content-type': 'text/plain' }, body }, { offload: {} });
      } catch (err) {
        thrown = err;
        res.end('no');
      }
    });
    try {
      await request(gw.url);
      expect(thrown).toMatchObject({ code: 'HANDOFF_INVALID_OPTIONS', message: expect.stringContaining('carries no offload instruction') });
      expect(body.destroyed).toBe(true);
    } finally {
      await gw.close();
    }
  });
});
