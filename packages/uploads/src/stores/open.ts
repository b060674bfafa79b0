import type { ResolvedTarget } from '../options';
import { TempFile } from './local';
import { PresignedPut } from './put';
import { MultipartUpload } from './s3-multipart';
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
