// The app under test in the uploads bench: Koa + acceptUpload(), PUT /local/:name into
// LOCAL_DIR and PUT /s3/:name into s3rver (S3_ENDPOINT, presigned by s3Store); every
// handler deletes what it got (local) so the disk does not fill. Sends { port } over IPC.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import Koa from 'koa';
import { acceptUpload, localStore } from '@handoff/koa';
import { s3Store } from '@handoff/uploads/s3';

const GiB = 1024 ** 3;
const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const local = acceptUpload({ authorize: () => ({ maxSize: 4 * GiB, store: localStore(process.env.LOCAL_DIR!) }) });
// singlePutLimit: a declared file goes as one presigned PUT, as the direct upload it is compared with.
const s3 = acceptUpload({ authorize: () => ({ maxSize: 4 * GiB, store: s3Store({ client, bucket: 'bench', maxSize: 4 * GiB, partSize: 16 * 1024 ** 2, singlePutLimit: 4 * GiB }) }) });

const app = new Koa();
app.use((ctx, next) => (ctx.path.startsWith('/local/') ? local(ctx, next) : s3(ctx, next)));
app.use((ctx) => {
  if (ctx.upload!.path) fs.rmSync(ctx.upload!.path);
  ctx.body = { size: ctx.upload!.size, sha256: ctx.upload!.sha256 };
});
const server = http.createServer(app.callback());
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('SIGTERM', () => process.exit(0));
