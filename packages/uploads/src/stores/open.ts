import type { ResolvedTarget } from '../options';
import { TempFile } from './local';
import { PresignedPut } from './put';
import { MultipartUpload, abortMultipart } from './s3-multipart';
import type { FileWriter, WriterContext } from './writer';

/** The writer for one file bound for `target`. */
export function openWriter(target: ResolvedTarget, ctx: WriterContext): FileWriter {
  switch (target.kind) {
    case 'local':
      return new TempFile(target.dir);
    case 'put':
      return new PresignedPut(target, ctx);
    case 'multipart':
      return new MultipartUpload(target, ctx);
  }
}

/**
 * Releases a target no writer was opened for (the upload failed while the store was asked):
 * an S3 multipart upload the store created is aborted; a local directory or a PUT holds nothing yet.
 */
export async function releaseTarget(target: ResolvedTarget, ctx: WriterContext): Promise<void> {
  if (target.kind === 'multipart') await abortMultipart(target, ctx);
}
