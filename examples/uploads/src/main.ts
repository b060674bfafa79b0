// One command: starts s3rver (a temp directory, port 0) and the app (port 0), sends a few
// uploads — a raw file to the local directory, a file of unknown length to S3 as multipart,
// a form with two files and fields, one without the token — prints what each handler got,
// and stops everything. Bounded: it gives up after 60 s.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { expectContinue } from '@handoff/koa';
import S3rver from 's3rver';
import { createApp } from './app';

const TOKEN = 'example-token';
const deadline = setTimeout(() => {
  console.error('uploads example: did not finish within 60 s');
  process.exit(1);
}, 60_000);

async function send(base: string, method: string, target: string, body: Buffer | Buffer[], headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${target}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const part of body) req.write(part); // no Content-Length: sent chunked
      req.end();
    } else {
      req.end(body);
    }
  });
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-uploads-example-'));
  const dir = path.join(root, 'local');
  fs.mkdirSync(dir);
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', directory: path.join(root, 's3'), silent: true, configureBuckets: [{ name: 'example', configs: [] }] });
  const { port: s3Port } = (await s3rver.run()) as unknown as AddressInfo;
  // The presigning trap: without WHEN_REQUIRED, presigned URLs carry a checksum of an empty body.
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${s3Port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const app = createApp({
    token: TOKEN,
    dir,
    s3: { client, bucket: 'example' },
    onUpload: (route, upload) => console.log(`handler for ${route} got ctx.upload =`, JSON.stringify(upload, null, 2)),
  });
  const server = http.createServer(app.callback());
  server.on('checkContinue', expectContinue(app.callback()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  console.log(`app on ${base}, s3rver on http://127.0.0.1:${s3Port}, local store ${dir}\n`);

  try {
    console.log('→ PUT /local/notes.txt (Content-Length known):', await send(base, 'PUT', '/local/notes.txt', Buffer.from('hello from the example\n'), { 'content-type': 'text/plain' }));
    const parts = Array.from({ length: 12 }, (_, i) => Buffer.alloc(1024 * 1024, i));
    console.log('→ PUT /s3/big.bin (12 MiB chunked, S3 multipart):', await send(base, 'PUT', '/s3/big.bin', parts));
    const boundary = 'example-boundary';
    const form = Buffer.from(
      [
        `--${boundary}\r\ncontent-disposition: form-data; name="title"\r\n\r\nholiday\r\n`,
        `--${boundary}\r\ncontent-disposition: form-data; name="photo"; filename="a.jpg"\r\ncontent-type: image/jpeg\r\n\r\n${'j'.repeat(2000)}\r\n`,
        `--${boundary}\r\ncontent-disposition: form-data; name="caption"; filename="c.txt"\r\ncontent-type: text/plain\r\n\r\nat the sea\r\n`,
        `--${boundary}--\r\n`,
      ].join(''),
    );
    console.log('→ POST /s3/form (two files, one field):', await send(base, 'POST', '/s3/form', form, { 'content-type': `multipart/form-data; boundary=${boundary}` }));
    console.log('→ PUT /s3/x.bin without the token:', await send(base, 'PUT', '/s3/x.bin', Buffer.from('x'), { authorization: '' }));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    client.destroy();
    await s3rver.close();
    fs.rmSync(root, { recursive: true, force: true });
    clearTimeout(deadline);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
