// A Koa app in a process of its own, for the 1 GiB upload: acceptUpload() with s3Store on the
// s3rver the test started (S3_ENDPOINT, S3_BUCKET), PART_SIZE and PART_CONCURRENCY from the
// environment. GET /ping answers at once; GET /stats gives the RSS at start (or at the last
// GET /stats/reset) and the highest sampled (every 20 ms) since. Prints `listening on <url>`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { S3Client } from '@aws-sdk/client-s3';
import { acceptUpload, expectContinue } from '@handoff/koa';
import { s3Store } from '@handoff/uploads/s3';

const partSize = Number(process.env.PART_SIZE);
const partConcurrency = Number(process.env.PART_CONCURRENCY);
const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const maxSize = 2 * 1024 ** 3;
const store = s3Store({ client, bucket: process.env.S3_BUCKET!, maxSize, partSize });

let peak = 0;
let baseline = 0;
let atPeak: NodeJS.MemoryUsage | undefined;
const sample = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) {
    peak = rss;
    atPeak = process.memoryUsage();
  }
}, 20);
sample.unref();

const app = new Koa();
app.on('error', (err: Error) => process.stderr.write(`app error: ${err.message}\n`));
app.use(async (ctx, next) => {
  if (ctx.path === '/ping') return void (ctx.body = 'pong');
  if (ctx.path === '/stats') return void (ctx.body = { baseline, peak, atPeak });
  if (ctx.path === '/stats/reset') {
    baseline = peak = process.memoryUsage.rss();
    return void (ctx.body = { baseline });
  }
  return next();
});
app.use(acceptUpload({ authorize: () => ({ maxSize, store, partConcurrency }) }));
app.use((ctx) => {
  ctx.body = ctx.upload;
});

const server = http.createServer(app.callback());
server.on('checkContinue', expectContinue(app.callback()));
server.listen(0, '127.0.0.1', () => {
  baseline = peak = process.memoryUsage.rss();
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
