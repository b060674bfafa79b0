import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxyMode } from '@handoff/core';
import { request } from '../helpers/client';
import { MODES } from '../helpers/modes';
import { offloadApp, onlyOutcome, type OffloadApp } from './helpers';

describe('offload(): X-Sendfile', () => {
  let dir: string;
  let root: string;
  let app: OffloadApp;
  const text = 'hello, sendfile world\n';

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-sendfile-'));
    root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'outside'));
    fs.writeFileSync(path.join(root, 'a.txt'), text);
    fs.writeFileSync(path.join(root, 'sub', 'data.json'), '{"ok":true}');
    fs.writeFileSync(path.join(root, '50% off & more.txt'), 'odd name');
    fs.writeFileSync(path.join(root, '.env'), 'SECRET=1');
    fs.writeFileSync(path.join(dir, 'outside', 'secret.txt'), 'outside the root');
    fs.symlinkSync(path.join(dir, 'outside', 'secret.txt'), path.join(root, 'escape.txt'));
    fs.symlinkSync(path.join(root, 'a.txt'), path.join(root, 'alias.txt'));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  afterEach(async () => {
    await app?.close();
  });

  /** An app whose handler sends `X-Sendfile: <?f>` (and whatever `extra` sets). */
  async function serve(options: { roots?: string[]; mode?: ProxyMode } = {}, extra?: (ctx: import('koa').Context) => void) {
    app = await offloadApp(
      (ctx) => {
        ctx.set('X-Sendfile', String(ctx.query.f));
        extra?.(ctx);
        ctx.body = 'not this';
      },
      { sendfileRoots: options.roots ?? [root], proxy: { mode: options.mode ?? 'response' } },
    );
  }

  const file = (name: string) => `/?f=${encodeURIComponent(name)}`;

  it.each(MODES)('serves the file with its content type, length and validators (%s mode)', async (mode) => {
    await serve({ mode });
    const reply = await request(app.url, { path: file(path.join(root, 'a.txt')) });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe(text);
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(reply.headers['content-length']).toBe(String(text.length));
    expect(reply.headers['accept-ranges']).toBe('bytes');
    expect(reply.headers.etag).toBeDefined();
    expect(reply.headers['last-modified']).toBeDefined();
    expect(reply.headers['x-sendfile']).toBeUndefined();
    const outcome = await onlyOutcome(app);
    expect(outcome).toMatchObject({ status: 200, offload: 'sendfile', bytes: text.length });
  });

  it('serves JSON, and names with spaces, % and &', async () => {
    await serve();
    const json = await request(app.url, { path: file(path.join(root, 'sub', 'data.json')) });
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.body.toString()).toBe('{"ok":true}');
    const odd = await request(app.url, { path: file(path.join(root, '50% off & more.txt')) });
    expect(odd.body.toString()).toBe('odd name');
  });

  it('answers a Range with 206 and Content-Range, and an unsatisfiable one with 416', async () => {
    await serve();
    const partial = await request(app.url, { path: file(path.join(root, 'a.txt')), headers: { range: 'bytes=7-14' } });
    expect(partial.status).toBe(206);
    expect(partial.headers['content-range']).toBe(`bytes 7-14/${text.length}`);
    expect(partial.body.toString()).toBe(text.slice(7, 15));
    const unsatisfiable = await request(app.url, { path: file(path.join(root, 'a.txt')), headers: { range: 'bytes=500-' } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${text.length}`);
    expect(app.errors).toEqual([]);
  });

  it('answers If-None-Match and If-Modified-Since with 304', async () => {
    await serve();
    const first = await request(app.url, { path: file(path.join(root, 'a.txt')) });
    const byEtag = await request(app.url, { path: file(path.join(root, 'a.txt')), headers: { 'if-none-match': first.headers.etag! } });
    expect(byEtag.status).toBe(304);
    expect(byEtag.body.length).toBe(0);
    const byDate = await request(app.url, {
      path: file(path.join(root, 'a.txt')),
      headers: { 'if-modified-since': first.headers['last-modified']! },
    });
    expect(byDate.status).toBe(304);
    const stale = await request(app.url, { path: file(path.join(root, 'a.txt')), headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
  });

  it('answers a failed If-Match or If-Unmodified-Since with 412', async () => {
    await serve();
    const byEtag = await request(app.url, { path: file(path.join(root, 'a.txt')), headers: { 'if-match': '"not-it"' } });
    expect(byEtag.status).toBe(412);
    expect(byEtag.body.length).toBe(0);
    const byDate = await request(app.url, {
      path: file(path.join(root, 'a.txt')),
      headers: { 'if-unmodified-since': new Date(0).toUTCString() },
    });
    expect(byDate.status).toBe(412);
    expect(app.errors).toEqual([]);
  });

  it('answers HEAD with the head only', async () => {
    await serve();
    const reply = await request(app.url, { method: 'HEAD', path: file(path.join(root, 'a.txt')) });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe(String(text.length));
    expect(reply.body.length).toBe(0);
  });

  it('keeps the handler\'s Content-Disposition and Cache-Control', async () => {
    await serve({}, (ctx) => {
      ctx.attachment('report.txt');
      ctx.set('Cache-Control', 'private, max-age=60');
    });
    const reply = await request(app.url, { path: file(path.join(root, 'a.txt')) });
    expect(reply.headers['content-disposition']).toBe('attachment; filename="report.txt"');
    expect(reply.headers['cache-control']).toBe('private, max-age=60');
  });

  it('follows a symlink that stays inside the root', async () => {
    await serve();
    expect((await request(app.url, { path: file(path.join(root, 'alias.txt')) })).body.toString()).toBe(text);
  });

  it.each([
    ['a path outside every root', 403, () => path.join(dir, 'outside', 'secret.txt'), 'HANDOFF_OFFLOAD_FORBIDDEN', 'outside every offload.sendfileRoots'],
    ['a traversal out of the root', 403, () => `${root}/../outside/secret.txt`, 'HANDOFF_OFFLOAD_FORBIDDEN', "'..' segments"],
    ['a symlink leading out of the root', 403, () => path.join(root, 'escape.txt'), 'HANDOFF_OFFLOAD_FORBIDDEN', 'outside its root'],
    ['a dotfile', 403, () => path.join(root, '.env'), 'HANDOFF_OFFLOAD_FORBIDDEN', 'dotfile'],
    ['a missing file', 404, () => path.join(root, 'nope.txt'), 'HANDOFF_OFFLOAD_NOT_FOUND', 'does not exist'],
    ['a directory', 404, () => path.join(root, 'sub'), 'HANDOFF_OFFLOAD_NOT_FOUND', 'is a directory'],
    ['a relative path', 502, () => 'root/a.txt', 'HANDOFF_OFFLOAD_INVALID', 'must be an absolute path'],
  ])('refuses %s with %i and a logged reason', async (_what, status, target, code, reason) => {
    await serve();
    const reply = await request(app.url, { path: file(target()) });
    expect(reply.status).toBe(status);
    expect(reply.body.toString()).not.toContain('outside the root');
    expect(app.errors[0]).toMatchObject({ code });
    expect(app.errors[0]!.message).toContain(reason);
  });

  it('answers 502 when no roots are configured', async () => {
    app = await offloadApp((ctx) => ctx.set('X-Sendfile', path.join(root, 'a.txt')), {});
    expect((await request(app.url)).status).toBe(502);
    expect(app.errors[0]!.message).toContain('no offload.sendfileRoots are configured');
  });
});
