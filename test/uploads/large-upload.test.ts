// The 1 GiB upload of unknown length (chunked) through S3 multipart, into s3rver: byte-exact
// at the store, RSS of the app's process bounded by 2 × partSize × partConcurrency + 32 MiB,
// and the app free for other requests meanwhile (/ping through the same app answers).
// The app runs in a child process, so its RSS is its own; the whole case is bounded to 4 min.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { request } from '../helpers/client';
import { until } from '../helpers/wait';
import { startS3rver, type S3rverRunning } from './helpers/s3rver';

const MiB = 1024 * 1024;
const TOTAL = 1024 * MiB;
const PART_SIZE = 8 * MiB;
const PART_CONCURRENCY = 4;
const ROOT = path.resolve(__dirname, '../..');

jest.setTimeout(240_000);

let s3: S3rverRunning | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  await s3?.close();
});

/** Sends `total` bytes chunked (1 MiB writes, honouring backpressure); resolves with the answer and the sha256 sent. */
function sendChunked(url: string, total = TOTAL): Promise<{ status: number; body: string; sha256: string; ms: number }> {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/artifacts/big.bin`, { method: 'PUT', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, sha256: hash.digest('hex'), ms: performance.now() - started }));
    });
    req.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        const chunk = Buffer.from(block);
        chunk.writeUInt32BE(sent / MiB, 0); // every MiB differs
        hash.update(chunk);
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

test('a 1 GiB chunked upload goes to s3rver as multipart: byte-exact, RSS bounded, the app answering /ping throughout', async () => {
  s3 = await startS3rver();
  if (!s3) return;
  child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'processes/upload-app.ts')], {
    cwd: ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json'), S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, PART_SIZE: String(PART_SIZE), PART_CONCURRENCY: String(PART_CONCURRENCY), AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let errors = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (errors += c));
  await until(() => /listening on (\S+)/.test(out) || child!.exitCode !== null, 'the app to listen', { timeout: 30_000, every: 10 });
  const url = /listening on (\S+)/.exec(out)?.[1];
  if (!url) throw new Error(`the app did not start: ${errors}`);

  // A first upload warms the process up (the SDK's presigning, undici's pool, V8's young
  // generation reaching its working size): the growth measured is the big upload's own.
  expect((await sendChunked(url, 64 * MiB)).status).toBe(200);
  const cold = JSON.parse((await request(url, { path: '/stats' })).body.toString()) as { baseline: number; peak: number };
  await request(url, { path: '/stats/reset' });

  // /ping every 100 ms while the body streams: each is timed.
  const pings: number[] = [];
  let uploading = true;
  const pinging = (async () => {
    while (uploading) {
      const t = performance.now();
      const res = await request(url, { path: '/ping' });
      if (res.body.toString() === 'pong') pings.push(performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const sent = await sendChunked(url).finally(() => (uploading = false));
  await pinging;

  expect(sent.status).toBe(200);
  const upload = JSON.parse(sent.body) as { size: number; sha256: string; remoteId: string };
  expect(upload.size).toBe(TOTAL);
  expect(upload.sha256).toBe(sent.sha256);
  const stored = createHash('sha256');
  const file = path.join(s3.dir, s3.bucket, `${upload.remoteId}._S3rver_object`);
  for await (const chunk of fs.createReadStream(file)) stored.update(chunk as Buffer);
  expect(stored.digest('hex')).toBe(sent.sha256);
  expect(s3.openUploads()).toEqual([]);

  const stats = JSON.parse((await request(url, { path: '/stats' })).body.toString()) as { baseline: number; peak: number };
  const growth = stats.peak - stats.baseline;
  const bound = 2 * PART_SIZE * PART_CONCURRENCY + 32 * MiB;
  const sorted = [...pings].sort((a, b) => a - b);
  console.log(
    `warm-up (64 MiB, cold process): RSS growth ${((cold.peak - cold.baseline) / MiB).toFixed(1)} MiB; ` +
      `1 GiB upload: ${(TOTAL / MiB / (sent.ms / 1000)).toFixed(0)} MiB/s, RSS growth ${(growth / MiB).toFixed(1)} MiB (bound ${bound / MiB} MiB), ` +
      `${pings.length} pings, p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms, sha256 ${sent.sha256}`,
  );
  expect(growth).toBeLessThanOrEqual(bound);
  expect(pings.length).toBeGreaterThanOrEqual(5);
  // "Promptly" on two shared cores busy hashing and copying a gigabyte: under a second.
  expect(sorted.at(-1)!).toBeLessThan(1000);
});
