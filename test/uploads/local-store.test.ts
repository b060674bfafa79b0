// acceptUpload() with the local-directory store: what the handler gets, and RELIABILITY L46
// for every failure — nothing left in the directory, the handler never run.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { localStore, type AcceptUploadOptions } from '@handoff/koa';
import { request } from '../helpers/client';
import { until, within } from '../helpers/wait';
import { md5Thread } from '../../packages/uploads/src/hash-worker';
import { formData, tempStore, uploadApp, type UploadApp } from './helpers/upload-app';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

let store: ReturnType<typeof tempStore>;
let app: UploadApp | undefined;

beforeEach(() => {
  store = tempStore();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  store.cleanup();
});

/** Opens a connection, writes `head`, and collects everything the server sends; `socket` is left open for the test. */
function rawClient(port: number, head: string): { socket: net.Socket; received: () => string; closed: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (c) => (text += c.toString('latin1')));
  socket.on('error', () => {});
  socket.write(head);
  return { socket, received: () => text, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

test('a raw PUT of known length is stored under a new name in the directory, with its name, size and hashes', async () => {
  app = await uploadApp({ store: localStore(store.dir) });
  const body = Buffer.from('hello, uploads\n'.repeat(1000));
  const res = await request(app.url, { method: 'PUT', path: '/files/report%20one.txt', body, headers: { 'content-type': 'text/plain' } });
  expect(res.status).toBe(200);
  const upload = app.handled[0]!;
  expect(upload).toMatchObject({ name: 'report one.txt', size: body.length, sha256: sha256(body), md5: md5(body), contentType: 'text/plain', fields: {} });
  expect(path.dirname(upload.path!)).toBe(store.dir);
  expect(fs.readFileSync(upload.path!)).toEqual(body);
  expect(store.entries()).toEqual([path.basename(upload.path!)]);
});

test('a chunked upload of unknown length is stored byte for byte', async () => {
  app = await uploadApp({ store: localStore(store.dir) });
  const parts = Array.from({ length: 20 }, (_, i) => Buffer.alloc(50_000, i));
  const res = await request(app.url, { method: 'POST', path: '/up', body: parts });
  expect(res.status).toBe(200);
  const all = Buffer.concat(parts);
  expect(app.handled[0]).toMatchObject({ size: all.length, sha256: sha256(all) });
  // Buffer.equals: jest's toEqual walks a 1 MB Buffer element by element (about 2 s).
  expect(fs.readFileSync(app.handled[0]!.path!).equals(all)).toBe(true);
});

test('a multipart form: both files are stored, the other fields are kept, and the first file is ctx.upload', async () => {
  app = await uploadApp({ store: localStore(store.dir) });
  const a = Buffer.alloc(300_000, 'a');
  const b = Buffer.from('second file');
  const form = formData([
    { name: 'title', value: 'Quarterly' },
    { name: 'avatar', value: a, filename: 'a.png', contentType: 'image/png' },
    { name: 'tag', value: 'x' },
    { name: 'tag', value: 'y' },
    { name: 'doc', value: b, filename: 'b.txt', contentType: 'text/plain' },
  ]);
  const res = await request(app.url, { method: 'POST', path: '/form', body: form.body, headers: { 'content-type': form.contentType } });
  expect(res.status).toBe(200);
  const upload = app.handled[0]!;
  expect(upload.fields).toEqual({ title: 'Quarterly', tag: ['x', 'y'] });
  expect(upload.files.map((f) => [f.field, f.name, f.size, f.sha256, f.contentType])).toEqual([
    ['avatar', 'a.png', a.length, sha256(a), 'image/png'],
    ['doc', 'b.txt', b.length, sha256(b), 'text/plain'],
  ]);
  expect(upload).toMatchObject({ field: 'avatar', name: 'a.png' });
  expect(fs.readFileSync(upload.files[1]!.path!)).toEqual(b);
  expect(store.entries()).toHaveLength(2);
});

test('a declared Content-Length over maxSize gets 413 before the body is asked for: no 100 Continue, nothing stored', async () => {
  app = await uploadApp({ store: localStore(store.dir), authorize: () => ({ maxSize: 1000 }) });
  const client = rawClient(app.port, 'PUT /big HTTP/1.1\r\nhost: x\r\ncontent-length: 1001\r\nexpect: 100-continue\r\n\r\n');
  await client.closed;
  expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
  expect(client.received()).not.toContain('100 Continue');
  expect(client.received().toLowerCase()).toContain('connection: close');
  expect(app.handled).toHaveLength(0);
  expect(store.entries()).toEqual([]);
});

test('100 Continue goes out only once authorize has allowed the upload; a refusal is answered with its status', async () => {
  app = await uploadApp({
    store: localStore(store.dir),
    authorize: (ctx) => {
      if (ctx.get('authorization') !== 'Bearer ok') ctx.throw(401);
      return { maxSize: 100 };
    },
  });
  const refused = rawClient(app.port, 'PUT /a HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n');
  await refused.closed;
  expect(refused.received()).toMatch(/^HTTP\/1\.1 401 /);
  expect(refused.received()).not.toContain('100 Continue');

  const allowed = rawClient(app.port, 'PUT /a HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ok\r\ncontent-length: 5\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n');
  await until(() => allowed.received().includes('100 Continue'), '100 Continue');
  allowed.socket.write('hello');
  await allowed.closed;
  expect(allowed.received()).toMatch(/200 OK/);
  expect(app.handled.map((u) => u.sha256)).toEqual([sha256('hello')]);
});

test.each([403, 413])('authorize throwing %i refuses the upload with that status, reading nothing', async (status) => {
  app = await uploadApp({ store: localStore(store.dir), authorize: (ctx) => ctx.throw(status) });
  const res = await request(app.url, { method: 'PUT', path: '/a', body: 'data' });
  expect(res.status).toBe(status);
  expect(app.handled).toHaveLength(0);
  expect(store.entries()).toEqual([]);
});

test('a body growing past maxSize is cut with 413, and its temp file is removed', async () => {
  app = await uploadApp({ store: localStore(store.dir), authorize: () => ({ maxSize: 100_000 }) });
  const res = await request(app.url, { method: 'PUT', path: '/a', body: Array.from({ length: 10 }, () => Buffer.alloc(20_000)) }).catch((err: Error) => err);
  // The server may close before the client has sent everything: either way, never a 200.
  if (!(res instanceof Error)) expect(res.status).toBe(413);
  await until(() => app!.errors.some((e) => (e as { code?: string }).code === 'HANDOFF_REQUEST_TOO_LARGE'), 'the 413');
  expect(app.handled).toHaveLength(0);
  await until(() => store.entries().length === 0, 'the temp file removed');
});

test('a client that stalls mid-upload gets 408 after bodyTimeout, and nothing is left', async () => {
  app = await uploadApp({ store: localStore(store.dir), authorize: () => ({ maxSize: 1 << 20, bodyTimeout: 300 }) });
  const client = rawClient(app.port, 'PUT /a HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nfirst bytes');
  await client.closed;
  expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  expect(app.errors.map((e) => (e as { code?: string }).code)).toContain('HANDOFF_REQUEST_TIMEOUT');
  expect(app.handled).toHaveLength(0);
  await until(() => store.entries().length === 0, 'the temp file removed');
});

test('a client below minDataRate.request gets 408 HANDOFF_REQUEST_TOO_SLOW (core UploadRate), and nothing is left', async () => {
  app = await uploadApp({ store: localStore(store.dir), authorize: () => ({ maxSize: 1 << 20, minDataRate: { request: 100_000, grace: 200 } }) });
  const client = rawClient(app.port, 'PUT /a HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n');
  const drip = setInterval(() => client.socket.write('x'), 20);
  try {
    await client.closed;
  } finally {
    clearInterval(drip);
  }
  expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  expect(app.errors.map((e) => (e as { code?: string }).code)).toContain('HANDOFF_REQUEST_TOO_SLOW');
  await until(() => store.entries().length === 0, 'the temp file removed');
});

test('a client that goes away mid-upload leaves no temp file and the handler never runs', async () => {
  app = await uploadApp({ store: localStore(store.dir) });
  const client = rawClient(app.port, 'PUT /a HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n');
  client.socket.write(Buffer.alloc(200_000));
  await until(() => store.entries().some((f) => f.endsWith('.part')), 'the temp file to appear');
  client.socket.destroy();
  await until(() => app!.errors.some((e) => (e as { code?: string }).code === 'HANDOFF_CLIENT_ABORTED'), 'the abort');
  await until(() => store.entries().length === 0, 'the temp file removed');
  expect(app.handled).toHaveLength(0);
});

test('a handler that throws has the stored file removed', async () => {
  app = await uploadApp({ store: localStore(store.dir) }, (ctx) => {
    expect(fs.existsSync(ctx.upload!.path!)).toBe(true);
    ctx.throw(422);
  });
  const res = await request(app.url, { method: 'PUT', path: '/a', body: 'doomed' });
  expect(res.status).toBe(422);
  expect(store.entries()).toEqual([]);
});

test('a store directory that cannot be written answers 502 HANDOFF_STORAGE_ERROR and the handler never runs', async () => {
  app = await uploadApp({ store: localStore(path.join(store.dir, 'missing')) });
  const res = await request(app.url, { method: 'PUT', path: '/a', body: 'data' });
  expect(res.status).toBe(502);
  expect(app.errors.map((e) => (e as { code?: string }).code)).toEqual(['HANDOFF_STORAGE_ERROR']);
  expect(app.handled).toHaveLength(0);
  expect(store.entries()).toEqual([]);
});

test('a malformed multipart body gets 400 and leaves nothing', async () => {
  app = await uploadApp({ store: localStore(store.dir) });
  const res = await request(app.url, { method: 'POST', path: '/form', body: 'not a form', headers: { 'content-type': 'multipart/form-data' } });
  expect(res.status).toBe(400);
  expect(store.entries()).toEqual([]);
});

test('an upload whose MD5 worker dies answers 502 HANDOFF_STORAGE_ERROR, leaves nothing, and the next upload gets a new worker', async () => {
  let kill = false;
  app = await uploadApp({
    store: () => {
      // Right before the file's digest starts on the worker: it dies while the body streams.
      if (kill) void md5Thread()!.worker.terminate();
      return localStore(store.dir);
    },
  });
  const body = Buffer.alloc(300_000, 'x');
  expect((await request(app.url, { method: 'PUT', path: '/first', body })).status).toBe(200);
  fs.rmSync(app.handled[0]!.path!);

  kill = true;
  const res = await request(app.url, { method: 'PUT', path: '/second', body: [body, body] });
  expect(res.status).toBe(502);
  expect(app.errors.map((e) => (e as { code?: string }).code)).toEqual(['HANDOFF_STORAGE_ERROR']);
  expect(app.errors[0]!.message).toMatch(/^Upload digest failed \(the hash worker exited/);
  expect(app.handled).toHaveLength(1);
  await until(() => store.entries().length === 0, 'the partial file removed');

  kill = false;
  const again = await request(app.url, { method: 'PUT', path: '/third', body });
  expect(again.status).toBe(200);
  expect(app.handled[1]).toMatchObject({ size: body.length, md5: md5(body) });
});

test.each<[string, AcceptUploadOptions['authorize'], number]>([
  ['authorize throwing 403', (ctx) => ctx.throw(403), 403],
  ['an invalid grant', () => ({ maxSize: -1 }), 500],
])('%s, answered before the body is read, closes the connection instead of reading the rest', async (_, authorize, status) => {
  app = await uploadApp({ store: localStore(store.dir), authorize });
  // Keep-alive, no Expect: without `connection: close` Node reads and discards the whole declared body.
  const client = rawClient(app.port, 'PUT /a HTTP/1.1\r\nhost: x\r\ncontent-length: 104857600\r\n\r\n');
  client.socket.write(Buffer.alloc(64 * 1024));
  await within(5000, client.closed, 'the server closing the connection');
  expect(client.received()).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
  expect(client.received().toLowerCase()).toContain('\r\nconnection: close\r\n');
  expect(app.handled).toHaveLength(0);
});

test('a multipart filename sent as UTF-8 is read as UTF-8', async () => {
  app = await uploadApp({ store: localStore(store.dir) });
  const form = formData([{ name: 'doc', value: 'cv', filename: 'résumé.pdf' }]);
  const res = await request(app.url, { method: 'POST', path: '/form', body: form.body, headers: { 'content-type': form.contentType } });
  expect(res.status).toBe(200);
  expect(app.handled[0]!.name).toBe('résumé.pdf');
});

test('a raw body named by its path is reduced to a base name, as form filenames are', async () => {
  app = await uploadApp({ store: localStore(store.dir) });
  expect((await request(app.url, { method: 'PUT', path: '/up/..%2F..%2Fetc%2Fpasswd', body: 'x' })).status).toBe(200);
  expect((await request(app.url, { method: 'PUT', path: '/up/a', body: 'x', headers: { 'content-disposition': 'attachment; filename="..\\\\win\\\\boot.ini"' } })).status).toBe(200);
  expect((await request(app.url, { method: 'PUT', path: '/up/..', body: 'x' })).status).toBe(200);
  expect(app.handled.map((u) => u.name)).toEqual(['passwd', 'boot.ini', 'upload']);
});

test('empty file inputs are skipped and do not count toward maxFiles; one file too many is 413', async () => {
  app = await uploadApp({ store: localStore(store.dir), maxFiles: 1 });
  const form = formData([
    { name: 'a', value: '', filename: '' },
    { name: 'b', value: 'the file', filename: 'b.txt' },
    { name: 'c', value: '', filename: '' },
  ]);
  const res = await request(app.url, { method: 'POST', path: '/form', body: form.body, headers: { 'content-type': form.contentType } });
  expect(res.status).toBe(200);
  expect(app.handled[0]!.files.map((f) => f.name)).toEqual(['b.txt']);
  const two = formData([
    { name: 'a', value: 'one', filename: 'a.txt' },
    { name: 'b', value: 'two', filename: 'b.txt' },
  ]);
  const refused = await request(app.url, { method: 'POST', path: '/form', body: two.body, headers: { 'content-type': two.contentType } });
  expect(refused.status).toBe(413);
  await until(() => store.entries().length === 1, 'the second form left nothing');
});

test('a grant with an unknown key (maxsize) is refused with HANDOFF_INVALID_OPTIONS naming it', async () => {
  app = await uploadApp({ store: localStore(store.dir), maxSize: 1000, authorize: () => ({ maxsize: 10 }) as never });
  const res = await request(app.url, { method: 'PUT', path: '/a', body: 'x' });
  expect(res.status).toBe(500);
  expect(app.errors.map((e) => [(e as { code?: string }).code, e.message])).toEqual([
    ['HANDOFF_INVALID_OPTIONS', expect.stringMatching(/^authorize returned an unknown key: maxsize \(allowed: maxSize, /)],
  ]);
  expect(app.handled).toHaveLength(0);
});
