// The sidecar's upload routes (Workhorse's body hijacking) as a spawned process: authorize
// with the backend (a signed, bodiless POST), the body streamed to a temp directory, a
// presigned PUT or S3 multipart (s3rver, the fault stub), then the request forwarded with
// the body replaced by signed fields. RELIABILITY L46 and L47.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import busboy from 'busboy';
import { jwtVerify } from 'jose';
import { s3Store } from '@handoff/uploads/s3';
import { rawRequest, request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { until } from '../helpers/wait';
import { startS3Stub, type S3Stub } from '../uploads/helpers/s3-stub';
import { startS3rver, type S3rverRunning } from '../uploads/helpers/s3rver';
import { formData, tempStore } from '../uploads/helpers/upload-app';
import { runToExit, startSidecar, type SidecarProcess } from './helpers/sidecar-process';

const SECRET = 'a-shared-secret-of-at-least-32-chars!';
const KEY = new TextEncoder().encode(SECRET);
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Forwarded {
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body's fields, as the backend parsed them. */
  fields: Record<string, string[]>;
  /** The verified claim of Handoff-Upload-Fields (undefined when the header was missing or did not verify). */
  signed: Record<string, string | string[]> | undefined;
  /** Every verified claim of Handoff-Upload-Fields. */
  claims?: Record<string, unknown>;
  /** A stored local file's bytes, read while the request was being handled. */
  file?: Buffer;
}

describe('sidecar upload routes', () => {
  let backend: Running;
  let sidecar: SidecarProcess;
  let stub: S3Stub;
  let s3: S3rverRunning | undefined;
  let store: ReturnType<typeof tempStore>;
  const authorizations: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string; claims?: Record<string, unknown> }> = [];
  const forwarded: Forwarded[] = [];
  /** The authorize answer for the next uploads. */
  let grant: () => unknown | Promise<unknown>;

  async function parse(req: http.IncomingMessage): Promise<Record<string, string[]>> {
    const fields: Record<string, string[]> = {};
    const add = (name: string, value: string) => (fields[name] ??= []).push(value);
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      await new Promise<void>((resolve, reject) => {
        const parser = busboy({ headers: req.headers });
        parser.on('field', add);
        parser.on('file', (name, stream) => {
          add(name, '<file>');
          stream.resume();
        });
        parser.on('close', resolve);
        parser.on('error', reject);
        req.pipe(parser);
      });
    } else {
      let text = '';
      for await (const chunk of req) text += (chunk as Buffer).toString();
      if (type === 'application/x-www-form-urlencoded') for (const [k, v] of new URLSearchParams(text)) add(k, v);
    }
    return fields;
  }

  beforeAll(async () => {
    store = tempStore();
    stub = await startS3Stub();
    s3 = await startS3rver();
    backend = await upstream((req, res) => {
      void (async () => {
        if (req.url!.split('?')[0]!.endsWith('/authorize')) {
          let body = '';
          for await (const chunk of req) body += (chunk as Buffer).toString();
          const token = req.headers['handoff-upload-authorization'] as string | undefined;
          const claims = token ? (await jwtVerify(token, KEY, { issuer: 'handoff' }).catch(() => undefined))?.payload : undefined;
          authorizations.push({ url: req.url!, headers: req.headers, body, claims });
          if (!claims) return void res.writeHead(403).end('not from the sidecar');
          if (req.headers.authorization !== 'Bearer ok') return void res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('log in first');
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await grant()));
        }
        const token = req.headers['handoff-upload-fields'] as string | undefined;
        const claims = token ? (await jwtVerify(token, KEY, { issuer: 'handoff' }).catch(() => undefined))?.payload : undefined;
        const signed = claims?.fields as Forwarded['signed'];
        const fields = await parse(req);
        const path = fields['file.path']?.[0] ?? fields['doc.path']?.[0];
        forwarded.push({ url: req.url!, headers: req.headers, fields, signed, claims, file: path && fs.existsSync(path) ? fs.readFileSync(path) : undefined });
        res.writeHead(201, { 'content-type': 'text/plain' }).end('stored');
      })();
    });
    sidecar = await startSidecar({
      args: ['--backend', backend.url, '--uploads-routes', 'PUT /uploads/,POST /forms/', '--uploads-secret', SECRET, '--uploads-storage-timeout', '2s'],
    });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.kill();
    await backend?.close();
    await stub?.close();
    await s3?.close();
    store?.cleanup();
  });

  beforeEach(() => {
    authorizations.length = 0;
    forwarded.length = 0;
    grant = () => ({ maxSize: 1 << 20, tempPath: store.dir });
    stub.fault = () => undefined;
  });

  const auth = { authorization: 'Bearer ok' };

  it('authorizes with a signed bodiless POST, stores a raw body in the temp path, and forwards signed urlencoded fields', async () => {
    const body = Buffer.alloc(200_000, 'r');
    const reply = await request(sidecar.url, { method: 'PUT', path: '/uploads/report.pdf?v=1', body, headers: { ...auth, 'content-type': 'application/pdf', 'x-request-id': 'r1' } });
    expect(reply.status).toBe(201);
    expect(authorizations).toHaveLength(1);
    const [authz] = authorizations;
    expect(authz!.url).toBe('/uploads/report.pdf/authorize?v=1');
    expect(authz!.body).toBe('');
    expect(authz!.claims).toMatchObject({ iss: 'handoff', method: 'PUT', path: '/uploads/report.pdf?v=1' });
    expect(authz!.headers).toMatchObject({ authorization: 'Bearer ok', 'x-request-id': 'r1', 'content-length': '0' });

    const [seen] = forwarded;
    expect(seen!.url).toBe('/uploads/report.pdf?v=1');
    expect(seen!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const flat = Object.fromEntries(Object.entries(seen!.fields).map(([k, v]) => [k, v[0]]));
    expect(flat).toMatchObject({ 'file.name': 'report.pdf', 'file.size': String(body.length), 'file.sha256': sha256(body), 'file.content_type': 'application/pdf' });
    expect(seen!.signed).toEqual(flat);
    // The token names the request it was made for, so it cannot be replayed on another.
    expect(seen!.claims).toMatchObject({ iss: 'handoff', method: 'PUT', path: '/uploads/report.pdf?v=1' });
    expect(seen!.file).toEqual(body);
    // The backend moves what it keeps: what is left is removed once it has answered.
    await until(() => store.entries().length === 0, 'the temp file removed');
  });

  it('relays the backend refusing the authorize request (401 and its body), reading nothing: no 100 Continue', async () => {
    const socket = net.connect(Number(new URL(sidecar.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (c) => (answer += c.toString()));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('PUT /uploads/a HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\nexpect: 100-continue\r\n\r\n');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).not.toContain('100 Continue');
    expect(answer.toLowerCase()).toContain('www-authenticate: bearer');
    expect(answer).toContain('log in first');
    expect(forwarded).toHaveLength(0);
    expect(store.entries()).toEqual([]);
  });

  it('forwards a multipart form with its file parts replaced by signed fields, its other fields kept, forged field names dropped', async () => {
    const doc = Buffer.from('the document');
    const form = formData([
      { name: 'title', value: 'Q3' },
      { name: 'doc.path', value: '/etc/passwd' },
      { name: 'doc', value: doc, filename: 'q3.txt', contentType: 'text/plain' },
      { name: 'photo', value: Buffer.alloc(70_000, 'p'), filename: 'p.jpg', contentType: 'image/jpeg' },
      { name: 'other.remote_url', value: 'http://evil/' },
    ]);
    const reply = await request(sidecar.url, { method: 'POST', path: '/forms/new', body: form.body, headers: { ...auth, 'content-type': form.contentType } });
    expect(reply.status).toBe(201);
    const [seen] = forwarded;
    expect(seen!.fields.title).toEqual(['Q3']);
    expect(seen!.fields['other.remote_url']).toBeUndefined();
    expect(seen!.fields['doc.path']).toHaveLength(1);
    expect(seen!.fields['doc.path']![0]).not.toBe('/etc/passwd');
    expect(seen!.fields['doc.sha256']).toEqual([sha256(doc)]);
    expect(seen!.fields['photo.name']).toEqual(['p.jpg']);
    expect(seen!.file).toEqual(doc);
    expect(seen!.signed).toMatchObject({ 'doc.name': 'q3.txt', 'photo.size': '70000' });
    expect(Object.keys(seen!.signed!).every((k) => k.startsWith('doc.') || k.startsWith('photo.'))).toBe(true);
    await until(() => store.entries().length === 0, 'the temp files removed');
  });

  it('drops a client-forged Handoff-Upload-Fields header, on upload routes and elsewhere', async () => {
    const forged = 'eyJhbGciOiJub25lIn0.eyJmaWVsZHMiOnt9fQ.';
    await request(sidecar.url, { method: 'PUT', path: '/uploads/x', body: 'x', headers: { ...auth, 'handoff-upload-fields': forged } });
    await request(sidecar.url, { method: 'POST', path: '/other', body: 'file.path=/etc/passwd', headers: { 'handoff-upload-fields': forged, 'handoff-upload-authorization': forged } });
    expect(forwarded).toHaveLength(2);
    expect(forwarded[0]!.headers['handoff-upload-fields']).not.toBe(forged);
    expect(forwarded[0]!.signed).toBeDefined();
    expect(forwarded[1]!.headers['handoff-upload-fields']).toBeUndefined();
    expect(forwarded[1]!.headers['handoff-upload-authorization']).toBeUndefined();
    expect(authorizations.every((a) => a.headers['handoff-upload-fields'] === undefined)).toBe(true);
  });

  it('refuses an upload whose query names a signed field (400), before authorizing', async () => {
    const reply = await request(sidecar.url, { method: 'PUT', path: '/uploads/x?file.path=/etc/passwd', body: 'x', headers: auth });
    expect(reply.status).toBe(400);
    expect(authorizations).toHaveLength(0);
    expect(forwarded).toHaveLength(0);
  });

  it('refuses a declared length over the authorized maxSize with 413 before reading, and a streamed one mid-body, leaving nothing', async () => {
    grant = () => ({ maxSize: 1000, tempPath: store.dir });
    const declared = await request(sidecar.url, { method: 'PUT', path: '/uploads/big', body: Buffer.alloc(5000), headers: auth }).catch(() => undefined);
    if (declared) expect(declared.status).toBe(413);
    const streamed = await request(sidecar.url, { method: 'PUT', path: '/uploads/big', body: [Buffer.alloc(800), Buffer.alloc(800)], headers: auth }).catch(() => undefined);
    if (streamed) expect(streamed.status).toBe(413);
    await until(() => sidecar.stderr().split('HANDOFF_REQUEST_TOO_LARGE').length === 3, 'both 413s logged');
    expect(forwarded).toHaveLength(0);
    expect(store.entries()).toEqual([]);
  });

  it('answers 502 for an authorize answer that is not a valid grant', async () => {
    grant = () => ({ maxSize: 10, tempPath: 'relative/dir' });
    const reply = await request(sidecar.url, { method: 'PUT', path: '/uploads/x', body: 'x', headers: auth });
    expect(reply.status).toBe(502);
    expect(sidecar.stderr()).toMatch(/HANDOFF_INVALID_RESPONSE: Upload authorize answer is invalid \(authorize answer\.tempPath must be an absolute directory path\)/);
  });

  it('streams to a presigned PUT and forwards remote_url and remote_id; a refused signature is 502 with nothing stored or forwarded', async () => {
    grant = () => ({ maxSize: 1 << 20, ...stub.put('objects/a') });
    const body = Buffer.alloc(50_000, 'o');
    expect((await request(sidecar.url, { method: 'PUT', path: '/uploads/a', body, headers: auth })).status).toBe(201);
    expect(stub.objects.get('objects/a')).toEqual(body);
    expect(forwarded[0]!.signed).toMatchObject({ 'file.remote_id': 'objects/a', 'file.remote_url': `${stub.url}/bucket/objects%2Fa` });
    stub.objects.clear();

    grant = () => ({ maxSize: 1 << 20, ...stub.put('objects/b', 'tampered') });
    expect((await request(sidecar.url, { method: 'PUT', path: '/uploads/b', body, headers: auth })).status).toBe(502);
    expect(stub.objects.size).toBe(0);
    expect(forwarded).toHaveLength(1);
  });

  it('aborts the multipart upload when a part fails: 503, no open upload, nothing forwarded', async () => {
    grant = () => ({ maxSize: 1 << 20, ...stub.multipart('m', 64 * 1024, 16) });
    stub.fault = (r) => (r.kind === 'part' && r.partNumber === 2 ? 'unavailable' : undefined);
    const reply = await request(sidecar.url, { method: 'PUT', path: '/uploads/m', body: Array.from({ length: 8 }, () => Buffer.alloc(32 * 1024)), headers: auth }).catch(() => undefined);
    if (reply) expect(reply.status).toBe(503);
    await until(() => stub.aborted.length === 1, 'the abort');
    expect(stub.open.size).toBe(0);
    expect(forwarded).toHaveLength(0);
  });

  it('takes a grant of 10,000 part URLs as long as temporary credentials make them (about 13 MB)', async () => {
    const token = `&X-Amz-Security-Token=${'T'.repeat(1200)}`;
    grant = () => {
      const target = stub.multipart('many-parts', 64 * 1024, 10_000);
      target.remote.multipart.partUrls = target.remote.multipart.partUrls.map((url) => url + token);
      return { maxSize: 1 << 20, ...target };
    };
    const body = Buffer.alloc(100_000, 'm');
    const reply = await request(sidecar.url, { method: 'PUT', path: '/uploads/m', body: [body], headers: auth });
    expect(reply.status).toBe(201);
    expect(stub.objects.get('many-parts')).toEqual(body);
    expect(forwarded[0]!.signed).toMatchObject({ 'file.sha256': sha256(body), 'file.remote_id': 'many-parts' });
    stub.objects.clear();
  });

  it.each(['/uploads/../admin/x', '/uploads/%2e%2e/admin/x', '/uploads/.%2E/admin/x', '/uploads/%2E./admin', '/uploads/./x', '/uploads/a/%2e/x', '/uploads/..\\admin'])(
    'refuses an upload path with a dot segment (%s) with 400 HANDOFF_BAD_REQUEST_TARGET, before authorizing',
    async (path) => {
      // Raw bytes: node:http's client would resolve the dot segments itself.
      const reply = await rawRequest(Number(new URL(sidecar.url).port), `PUT ${path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ok\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx`);
      expect(reply.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(authorizations).toHaveLength(0);
      expect(forwarded).toHaveLength(0);
      await until(() => sidecar.stderr().includes(`HANDOFF_BAD_REQUEST_TARGET: Upload path has a dot segment ('.' or '..', raw or percent-encoded), which upload routes do not take: PUT ${path}`), 'the refusal logged');
    },
  );

  it('drops client headers named like Handoff-Upload-* with underscores, on upload routes and elsewhere', async () => {
    const forged = { 'handoff_upload_fields': 'forged', 'handoff-upload_fields': 'forged', 'Handoff_Upload-Authorization': 'forged', 'handoff-uploadx': 'kept' };
    expect((await request(sidecar.url, { method: 'PUT', path: '/uploads/x', body: 'x', headers: { ...auth, ...forged } })).status).toBe(201);
    expect((await request(sidecar.url, { method: 'POST', path: '/other', body: 'x', headers: forged })).status).toBe(201);
    const names = (headers: http.IncomingHttpHeaders) => Object.keys(headers).filter((name) => /^handoff[-_]upload/.test(name)).sort();
    // Only the sidecar's own (verified) headers are left, and a name merely starting alike.
    expect(names(authorizations[0]!.headers)).toEqual(['handoff-upload-authorization', 'handoff-uploadx']);
    expect(authorizations[0]!.claims).toBeDefined();
    expect(names(forwarded[0]!.headers)).toEqual(['handoff-upload-fields', 'handoff-uploadx']);
    expect(forwarded[0]!.signed).toBeDefined();
    expect(names(forwarded[1]!.headers)).toEqual(['handoff-uploadx']);
  });

  it("drops the client's body-describing headers from the rewritten request, and keeps the others", async () => {
    const described = {
      'content-md5': 'XUFAKrxLKna5cZ2REBfFkg==',
      digest: 'sha-256=abc',
      'content-digest': 'sha-256=:abc:',
      'repr-digest': 'sha-256=:abc:',
      'content-range': 'bytes 0-4/5',
      'content-disposition': 'attachment; filename="a.txt"',
      'content-encoding': 'gzip',
    };
    const reply = await request(sidecar.url, { method: 'PUT', path: '/uploads/a.txt', body: 'hello', headers: { ...auth, ...described, 'x-request-id': 'r8', 'content-language': 'en' } });
    expect(reply.status).toBe(201);
    const headers = forwarded[0]!.headers;
    for (const name of Object.keys(described)) expect(headers[name]).toBeUndefined();
    expect(headers).toMatchObject({ authorization: 'Bearer ok', 'x-request-id': 'r8', 'content-type': 'application/x-www-form-urlencoded' });
    expect(forwarded[0]!.signed).toMatchObject({ 'file.name': 'a.txt', 'file.size': '5' });
  });

  it('drops form fields naming a signed field in bracket forms, keeps page_size, signs a UTF-8 filename as sent, and refuses such a query', async () => {
    const form = formData([
      { name: 'doc.path[]', value: '/etc/passwd' },
      { name: 'doc[path]', value: '/etc/passwd' },
      { name: 'doc[path][]', value: '/etc/passwd' },
      { name: 'other[remote_url]', value: 'http://evil/' },
      { name: 'page_size', value: '20' },
      { name: 'doc', value: 'the document', filename: 'résumé.pdf' },
    ]);
    expect((await request(sidecar.url, { method: 'POST', path: '/forms/b', body: form.body, headers: { ...auth, 'content-type': form.contentType } })).status).toBe(201);
    expect(Object.keys(forwarded[0]!.fields).filter((name) => !name.startsWith('doc.')).sort()).toEqual(['page_size']);
    expect(forwarded[0]!.fields['doc.path']).toHaveLength(1);
    expect(forwarded[0]!.fields['doc.path']![0]).not.toBe('/etc/passwd');
    // Sent as UTF-8 bytes, signed as they were.
    expect(forwarded[0]!.signed).toMatchObject({ 'doc.name': 'résumé.pdf' });
    await until(() => store.entries().length === 0, 'the temp file removed');

    const query = await request(sidecar.url, { method: 'PUT', path: '/uploads/x?file.path[]=/etc/passwd', body: 'x', headers: auth });
    expect(query.status).toBe(400);
    expect(authorizations).toHaveLength(1);
    expect(forwarded).toHaveLength(1);
  });

  it('refuses a form whose file part has an empty field name with 400, storing and forwarding nothing', async () => {
    const form = formData([
      { name: 'title', value: 'kept?' },
      { name: '', value: 'the file', filename: 'a.txt' },
    ]);
    const reply = await request(sidecar.url, { method: 'POST', path: '/forms/c', body: form.body, headers: { ...auth, 'content-type': form.contentType } });
    expect(reply.status).toBe(400);
    expect(forwarded).toHaveLength(0);
    expect(store.entries()).toEqual([]);
    await until(() => sidecar.stderr().includes('HANDOFF_REQUEST_BODY: Upload form has a file part without a field name (name=""), which the sidecar cannot sign: POST /forms/c'), 'the refusal logged');
  });

  it('streams a chunked body to s3rver as multipart, presigned by the backend with @handoff/uploads/s3', async () => {
    if (!s3) return;
    const presign = s3Store({ client: s3.client, bucket: s3.bucket, maxSize: 16 << 20, partSize: 1 << 20 });
    grant = async () => ({ maxSize: 16 << 20, ...(await presign({ field: undefined, name: 'x', contentType: 'application/octet-stream', size: undefined })) });
    const parts = Array.from({ length: 5 }, (_, i) => Buffer.alloc(700_000, i));
    expect((await request(sidecar.url, { method: 'PUT', path: '/uploads/big.bin', body: parts, headers: auth })).status).toBe(201);
    const signed = forwarded[0]!.signed!;
    expect(signed['file.sha256']).toBe(sha256(Buffer.concat(parts)));
    expect(s3.object(signed['file.remote_id'] as string)).toEqual(Buffer.concat(parts));
    expect(s3.openUploads()).toEqual([]);
  });
});

describe('sidecar upload configuration', () => {
  it('refuses upload routes without a secret, naming the key (exit 2)', async () => {
    const { code, stderr } = await runToExit({ args: ['--backend', 'http://127.0.0.1:1', '--uploads-routes', 'PUT /uploads/'] });
    expect(code).toBe(2);
    expect(stderr).toMatch(/invalid configuration: uploads\.secret is required when uploads\.routes is set/);
  });

  it('refuses a short secret and a malformed route (exit 2)', async () => {
    const short = await runToExit({ args: ['--backend', 'http://127.0.0.1:1', '--uploads-secret', 'short'] });
    expect(short.stderr).toMatch(/uploads\.secret \(flag --uploads-secret\) must be at least 32 characters/);
    const route = await runToExit({ env: { HANDOFF_UPLOADS_ROUTES: 'PUT uploads' }, args: ['--backend', 'http://127.0.0.1:1'] });
    expect(route.code).toBe(2);
    expect(route.stderr).toMatch(/uploads\.routes \(environment HANDOFF_UPLOADS_ROUTES\) entry 1 must be a method and a path prefix/);
  });
});
