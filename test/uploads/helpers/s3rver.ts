import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface S3rverRunning {
  endpoint: string;
  bucket: string;
  /** s3rver's storage directory. */
  dir: string;
  /** Created as the trap in the issue requires: no checksum of an empty body in presigned URLs. */
  client: S3Client;
  /** The stored object `key`, read from s3rver's storage directory (undefined if absent). */
  object(key: string): Buffer | undefined;
  /** Keys of every object stored. */
  keys(): string[];
  /** Multipart uploads neither completed nor aborted (s3rver keeps one directory each). */
  openUploads(): string[];
  close(): Promise<void>;
}

const BUCKET = 'uploads';
const OBJECT = '._S3rver_object';

/**
 * s3rver (a real S3-compatible server, on 127.0.0.1 port 0, storing in a temp directory),
 * or undefined with a printed reason when it cannot start: suites skip only then.
 */
export async function startS3rver(): Promise<S3rverRunning | undefined> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: BUCKET, configs: [] }] });
  let port: number;
  try {
    ({ port } = (await server.run()) as unknown as { port: number });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`s3rver could not start (${(err as Error).message}): its suites are skipped`);
    return undefined;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const root = path.join(dir, BUCKET);
  return {
    endpoint,
    bucket: BUCKET,
    dir,
    client,
    object: (key) => {
      const file = path.join(root, `${key}${OBJECT}`);
      return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    },
    keys: () =>
      (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith(OBJECT)).map((f) => f.slice(0, -OBJECT.length)),
    openUploads: () => {
      const uploads = path.join(root, '._S3rver_uploads');
      return fs.existsSync(uploads) ? fs.readdirSync(uploads) : [];
    },
    close: async () => {
      client.destroy();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
