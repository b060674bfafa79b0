// Upload throughput (docs/uploads.md, "Bench"): the same file sent by the same client
// (undici, a file stream with its Content-Length)
//   - to s3rver directly (a presigned PUT) and through handoff (acceptUpload + s3Store:
//     the app streams it to a presigned PUT, hashing SHA-256 and MD5 on the way);
//   - with `cat file > dest` and through handoff to the local store, on the same disk.
// Rounds interleave the contenders; figures are MB/s (10^6 bytes), min–median–max.
// BENCH_UPLOAD_MIB (default 512) and BENCH_UPLOAD_ROUNDS (default 3) change the run.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { request } from 'undici';
import { firstMessage, start, stop, type Child } from './lib/children';

const MIB = Number(process.env.BENCH_UPLOAD_MIB ?? 512);
const ROUNDS = Number(process.env.BENCH_UPLOAD_ROUNDS ?? 3);
const ROOT = path.resolve(__dirname, '..');

function tsx(name: string, file: string, env: Record<string, string>): Child {
  return start(name, process.execPath, ['--import', 'tsx', path.join(__dirname, file)], {
    ipc: true,
    env: { ...env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json'), AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1' },
  });
}

async function put(url: string, file: string, size: number): Promise<number> {
  const started = performance.now();
  const res = await request(url, { method: 'PUT', body: fs.createReadStream(file, { highWaterMark: 256 * 1024 }), headers: { 'content-length': String(size) } });
  await res.body.text();
  if (res.statusCode >= 300) throw new Error(`PUT ${url.split('?')[0]} answered ${res.statusCode}`);
  return size / 1e6 / ((performance.now() - started) / 1000);
}

function cat(file: string, dest: string, size: number): number {
  const started = performance.now();
  execFileSync('/bin/sh', ['-c', 'cat "$1" > "$2"', 'sh', file, dest]);
  const rate = size / 1e6 / ((performance.now() - started) / 1000);
  fs.rmSync(dest);
  return rate;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]!.toFixed(0)}–${s[Math.floor(s.length / 2)]!.toFixed(0)}–${s.at(-1)!.toFixed(0)}`;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-uploads-'));
  const file = path.join(work, 'payload.bin');
  const size = MIB * 1024 * 1024;
  const block = randomBytes(1024 * 1024);
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < MIB; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  const s3dir = path.join(work, 's3');
  const localDir = path.join(work, 'local');
  fs.mkdirSync(localDir);
  const children: Child[] = [];
  try {
    const s3rver = tsx('s3rver', 'uploads/s3rver.ts', { S3_DIR: s3dir });
    children.push(s3rver);
    const { port: s3Port } = await firstMessage<{ port: number }>(s3rver);
    const endpoint = `http://127.0.0.1:${s3Port}`;
    const app = tsx('app', 'uploads/app.ts', { S3_ENDPOINT: endpoint, LOCAL_DIR: localDir });
    children.push(app);
    const { port } = await firstMessage<{ port: number }>(app);
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    const rates = { direct: [] as number[], handoffS3: [] as number[], cat: [] as number[], handoffLocal: [] as number[] };
    await put(`http://127.0.0.1:${port}/s3/warmup`, file, size); // warms the app (the SDK, undici's pool)
    for (let round = 1; round <= ROUNDS; round++) {
      const direct = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'bench', Key: `direct-${round}` }), { expiresIn: 600 });
      rates.direct.push(await put(direct, file, size));
      rates.handoffS3.push(await put(`http://127.0.0.1:${port}/s3/through-${round}`, file, size));
      rates.cat.push(cat(file, path.join(localDir, 'cat.bin'), size));
      rates.handoffLocal.push(await put(`http://127.0.0.1:${port}/local/file-${round}`, file, size));
      // s3rver keeps every object: remove them so the disk does not fill.
      fs.rmSync(path.join(s3dir, 'bench'), { recursive: true, force: true });
      fs.mkdirSync(path.join(s3dir, 'bench'));
      process.stdout.write(`round ${round}/${ROUNDS} done\n`);
    }
    client.destroy();
    console.log(`\n${MIB} MiB, ${ROUNDS} rounds, MB/s min–median–max (Node ${process.version}, ${os.cpus().length} cores)`);
    console.log(`| path | MB/s | median ratio |`);
    console.log(`| --- | ---: | ---: |`);
    console.log(`| PUT to s3rver directly (presigned) | ${summary(rates.direct)} | 1.00 |`);
    console.log(`| through handoff to s3rver (acceptUpload + s3Store) | ${summary(rates.handoffS3)} | ${(median(rates.handoffS3) / median(rates.direct)).toFixed(2)} |`);
    console.log(`| cat file > dest | ${summary(rates.cat)} | 1.00 |`);
    console.log(`| through handoff to the local store | ${summary(rates.handoffLocal)} | ${(median(rates.handoffLocal) / median(rates.cat)).toFixed(2)} |`);
  } finally {
    for (const child of children) await stop(child);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
