import path from 'node:path';
import { removeFile } from './stores/local';
import type { LocalTarget, UploadedFile } from './types';

/** The local-directory store: each file is written to a temp file in `dir`, renamed once complete. */
export function localStore(dir: string): LocalTarget {
  return { tempPath: path.resolve(dir) };
}

/** Removes the local files of an upload that are still where they were stored (a handler may have moved them). */
export async function removeStoredFiles(files: readonly UploadedFile[]): Promise<void> {
  await Promise.all(files.map((file) => (file.path ? removeFile(file.path) : undefined)));
}
