/**
 * `@handoff/uploads/s3`: targets for S3 (or R2, MinIO, s3rver) presigned with the AWS SDK,
 * for the app side only — the proxy itself speaks plain HTTP to the URLs. Needs
 * `@aws-sdk/client-s3` and `@aws-sdk/s3-request-presigner` (optional peer dependencies).
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { invalid } from './options';
import type { FileInfo, UploadTarget } from './types';

export interface S3StoreOptions {
  /** Created with requestChecksumCalculation and responseChecksumValidation 'WHEN_REQUIRED' (checked). */
  client: S3Client;
  bucket: string;
  /** The largest file: it sets how many parts are presigned. */
  maxSize: number;
  /** The object key for a file (default: `prefix` + 32 random hex digits). */
  key?: (file: FileInfo) => string;
  prefix?: string;
  /** Multipart part size in bytes (default 8 MiB; S3 wants at least 5 MiB for all parts but the last). */
  partSize?: number;
  /** Files declared at most this long go as one PUT (default: partSize); others, and files of unknown length, multipart. */
  singlePutLimit?: number;
  /** Seconds the presigned URLs are valid (default 3600). */
  expiresIn?: number;
}

const MiB = 1024 * 1024;

/**
 * A store for acceptUpload()/receiveUpload(): each file gets a presigned PUT (declared and
 * small) or a multipart upload created now, with presigned UploadPart, Complete, Abort and
 * DeleteObject URLs. Refuses a client whose presigned URLs would carry a checksum of an
 * empty body (the SDK's default, which S3, R2 and MinIO then reject).
 */
export function s3Store(options: S3StoreOptions): (file: FileInfo) => Promise<UploadTarget> {
  const { client, bucket, maxSize } = options;
  const partSize = options.partSize ?? 8 * MiB;
  const singlePutLimit = options.singlePutLimit ?? partSize;
  const expiresIn = options.expiresIn ?? 3600;
  if (typeof bucket !== 'string' || bucket === '') throw invalid('bucket', 'bucket must be a bucket name');
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) throw invalid('maxSize', `maxSize must be an integer >= 0, got ${String(maxSize)}`);
  if (!Number.isSafeInteger(partSize) || partSize < 1) throw invalid('partSize', `partSize must be an integer >= 1, got ${String(partSize)}`);
  const parts = Math.max(1, Math.ceil(maxSize / partSize));
  if (parts > 10_000) throw invalid('partSize', `partSize ${partSize} needs ${parts} parts for maxSize ${maxSize}; S3 takes at most 10000`);
  let checked: Promise<void> | undefined;
  const signing = { expiresIn };

  return async (file) => {
    await (checked ??= checkChecksumMode(client));
    const Key = options.key ? options.key(file) : `${options.prefix ?? ''}${randomBytes(16).toString('hex')}`;
    const deleteUrl = await getSignedUrl(client, new DeleteObjectCommand({ Bucket: bucket, Key }), signing);
    if (file.size !== undefined && file.size <= singlePutLimit) {
      return { remote: { id: Key, putUrl: await getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key }), signing), deleteUrl } };
    }
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType: file.contentType }));
    const partUrls = await Promise.all(
      Array.from({ length: parts }, (_, i) => getSignedUrl(client, new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: i + 1 }), signing)),
    );
    return {
      remote: {
        id: Key,
        deleteUrl,
        multipart: {
          partSize,
          partUrls,
          completeUrl: await getSignedUrl(client, new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId }), signing),
          abortUrl: await getSignedUrl(client, new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }), signing),
        },
      },
    };
  };
}

async function checkChecksumMode(client: S3Client): Promise<void> {
  const config = client.config as { requestChecksumCalculation?: () => Promise<string> };
  const mode = await config.requestChecksumCalculation?.();
  if (mode !== undefined && mode !== 'WHEN_REQUIRED') {
    throw invalid(
      'client',
      `the S3Client must be created with requestChecksumCalculation: 'WHEN_REQUIRED' (and responseChecksumValidation: 'WHEN_REQUIRED'), got ${mode}: otherwise presigned URLs carry a checksum of an empty body and S3, R2 and MinIO reject the upload`,
    );
  }
}
