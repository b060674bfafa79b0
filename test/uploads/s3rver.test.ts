// acceptUpload() against a real S3-compatible server (s3rver, started here on port 0), with
// targets presigned by the AWS SDK through @handoff/uploads/s3. The proxy side speaks plain
// HTTP to the presigned URLs; cleanup is checked in s3rver's storage directory.
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { s3Store } from '@handoff/uploads/s3';
import { request } from '../helpers/client';
import { startS3rver, type S3rverRunning } from './helpers/s3rver';
import { formData, uploadApp, type UploadApp } from './helpers/upload-app';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let s3: S3rverRunning | undefined;
let app: UploadApp | undefined;

beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.close();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Runs only when s3rver could start (startS3rver printed why not). */
const withS3 = (name: string, fn: (s3: S3rverRunning) => Promise<void>) => test(name, () => (s3 ? fn(s3) : Promise.resolve()));

withS3('a body of known length goes as one presigned PUT: byte-exact in s3rver, ETag checked against the MD5', async (s3) => {
  app = await uploadApp({ store: s3Store({ client: s3.client, bucket: s3.bucket, maxSize: 64 * MiB, prefix: 'put/' }) });
  const body = Buffer.alloc(3 * MiB + 17, 'p');
  const res = await request(app.url, { method: 'PUT', path: '/files/a.bin', body });
  expect(res.status).toBe(200);
  const upload = app.handled[0]!;
  expect(upload.remoteId).toMatch(/^put\/[0-9a-f]{32}$/);
  expect(upload.remoteUrl).toBe(`${s3.endpoint}/${s3.bucket}/${upload.remoteId}`);
  expect(upload).toMatchObject({ name: 'a.bin', size: body.length, sha256: sha256(body) });
  expect(s3.object(upload.remoteId!)).toEqual(body);
  expect(s3.openUploads()).toEqual([]);
});

withS3('a chunked body of unknown length goes multipart: byte-exact in s3rver, completed, no upload left open', async (s3) => {
  app = await uploadApp({ store: s3Store({ client: s3.client, bucket: s3.bucket, maxSize: 64 * MiB, partSize: MiB }) });
  const parts = Array.from({ length: 7 }, (_, i) => Buffer.alloc(512 * 1024 + i, i));
  const res = await request(app.url, { method: 'POST', path: '/up', body: parts });
  expect(res.status).toBe(200);
  const all = Buffer.concat(parts);
  const upload = app.handled[0]!;
  expect(upload.sha256).toBe(sha256(all));
  expect(sha256(s3.object(upload.remoteId!)!)).toBe(sha256(all));
  expect(s3.openUploads()).toEqual([]);
});

withS3('a multipart form with two files and fields: each file its own object, the fields kept', async (s3) => {
  app = await uploadApp({ store: s3Store({ client: s3.client, bucket: s3.bucket, maxSize: 64 * MiB, partSize: MiB }) });
  const a = Buffer.alloc(2 * MiB + 5, 'a');
  const b = Buffer.from('small second file');
  const form = formData([
    { name: 'project', value: 'handoff' },
    { name: 'first', value: a, filename: 'a.bin' },
    { name: 'second', value: b, filename: 'b.txt', contentType: 'text/plain' },
  ]);
  const res = await request(app.url, { method: 'POST', path: '/form', body: form.body, headers: { 'content-type': form.contentType } });
  expect(res.status).toBe(200);
  const upload = app.handled[0]!;
  expect(upload.fields).toEqual({ project: 'handoff' });
  expect(upload.files.map((f) => s3.object(f.remoteId!))).toEqual([a, b]);
  expect(upload.files.map((f) => f.sha256)).toEqual([sha256(a), sha256(b)]);
  expect(s3.openUploads()).toEqual([]);
});

test('s3Store refuses an S3Client whose presigned URLs would carry a checksum of an empty body', async () => {
  const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const store = s3Store({ client, bucket: 'b', maxSize: MiB });
  await expect(store({ field: undefined, name: 'a', contentType: 'text/plain', size: 1 })).rejects.toMatchObject({
    code: 'HANDOFF_INVALID_OPTIONS',
    message: expect.stringContaining("requestChecksumCalculation: 'WHEN_REQUIRED'"),
  });
  client.destroy();
});
